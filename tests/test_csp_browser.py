"""Every page is served with a Content-Security-Policy that allows nothing
inline, and nothing on the main pages trips it: each page is loaded in a real
browser (Debian's chromium, driven by Playwright), used a little where it has
scripts, and the browser reports no violation."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from portal.actor import Actor  # noqa: E402

# Playwright's sync API runs an event loop; the ORM is still used from this thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.contrib.auth.models import User  # noqa: E402

from api.services import token_create  # noqa: E402
from portal.models import Membership, Role  # noqa: E402
from tests.browser_support import sign_in  # noqa: E402
from tests.queue_support import make_job, tone_wav  # noqa: E402
from transcription.job_states import JobStatus  # noqa: E402
from transcription.models import Webhook  # noqa: E402

pytest_plugins = ["tests.transcript_factory"]
needs_chromium = pytest.mark.skipif(not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"),
                                    reason="Debian chromium is not installed")
live = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|<style|\son[a-z]+=|javascript:", re.IGNORECASE)

# Recorded in the page before any of its own scripts run.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


class Visitor:
    def __init__(self, browser, base_url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.base = base_url
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))

    def violations(self) -> list[str]:
        found = self.page.evaluate("window.__csp || []")
        found += [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]
        return found

    def visit(self, path: str, *, wait_for: str | None = None) -> list[str]:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, (path, policy)
        if wait_for:
            self.page.wait_for_selector(wait_for, timeout=15000)
        self.page.wait_for_load_state("networkidle")
        return self.violations()



@pytest.fixture
def site(project, alice, transcript):
    """A project with a finished transcript, a queued and a running job, and a webhook."""
    make_job(project, alice, name="queued.wav")
    make_job(project, alice, name="running.wav", status=JobStatus.RUNNING, progress=40)
    Webhook.objects.create(project=project, url="https://hooks.example.org/in", secret="s" * 64)
    return {"project": project, "transcript": transcript, "team": project.team}


@needs_chromium
@live
def test_the_signed_out_pages_have_no_csp_violation(live_server, browser, db):
    visitor = Visitor(browser, live_server.url)
    for path in ("/accounts/login/", "/accounts/password_reset/"):
        assert visitor.visit(path) == [], path


@needs_chromium
@live
def test_the_main_pages_have_no_csp_violation(live_server, browser, site, alice):
    visitor = Visitor(browser, live_server.url)
    sign_in(visitor.page, live_server.url, "alice")
    project, transcript, team = site["project"], site["transcript"], site["team"]
    token_create(actor=Actor.of(alice), user=alice, name="laptop")
    pages = {
        "/": None,
        f"/teams/{team.pk}/": None,
        f"/projects/{project.pk}/": "#upload-form, form[enctype]",
        "/queue/": None,
        f"/jobs/{transcript.job_id}/": None,
        f"/transcripts/{transcript.pk}/": "#segments",
        f"/projects/{project.pk}/exports/": None,
        f"/projects/{project.pk}/glossary/": None,
        f"/projects/{project.pk}/webhooks/": None,
        "/search/?q=%E9%A2%84%E7%AE%97": None,
        "/settings/": None,
        "/settings/tokens/": None,
        "/accounts/password_change/": None,
        "/api/docs/": ".swagger-ui .information-container",
    }
    for path, selector in pages.items():
        assert visitor.visit(path, wait_for=selector) == [], path

    # Scripts at work: an upload with its progress list and the jobs table refreshed by htmx,
    # the player loading the media, the language switch submitting its form.
    visitor.visit(f"/projects/{project.pk}/")
    visitor.page.set_input_files("#upload-files", files=[
        {"name": "tone.wav", "mimeType": "audio/wav", "buffer": tone_wav()}])
    visitor.page.wait_for_selector("[data-upload-list] li.done", timeout=15000)
    visitor.page.wait_for_selector("#jobs :text('tone.wav')", timeout=15000)
    visitor.visit(f"/transcripts/{transcript.pk}/", wait_for="#segments")
    visitor.page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    visitor.page.locator("#seg-2 .seg-text").click()
    with visitor.page.expect_navigation():
        visitor.page.select_option("footer select[name=language]", "zh-hans")
    assert visitor.page.locator("html").get_attribute("lang") == "zh-hans"
    assert visitor.violations() == []


@needs_chromium
@live
def test_confirmations_work_without_inline_handlers(live_server, browser, site, alice, bob):
    visitor = Visitor(browser, live_server.url)
    sign_in(visitor.page, live_server.url, "alice")
    team = site["team"]
    visitor.visit(f"/teams/{team.pk}/")
    # Changing a role asks first (accepted here; declining is in test_people_browser.py); so does removing
    # (declined, then accepted).
    visitor.page.once("dialog", lambda d: d.accept())
    with visitor.page.expect_navigation():
        visitor.page.select_option("tr:has-text('bob') select[name=role]", "member")
    assert Membership.objects.get(user=bob).role == Role.MEMBER
    visitor.page.once("dialog", lambda d: d.dismiss())
    visitor.page.locator("tr:has-text('bob') button:has-text('Remove')").click()
    visitor.page.wait_for_timeout(300)
    assert Membership.objects.filter(user=bob).exists()
    visitor.page.once("dialog", lambda d: d.accept())
    with visitor.page.expect_navigation():
        visitor.page.locator("tr:has-text('bob') button:has-text('Remove')").click()
    assert not Membership.objects.filter(user=bob).exists()
    assert visitor.violations() == []


@needs_chromium
@live
def test_the_staff_pages_and_the_admin_have_no_csp_violation(live_server, browser, site):
    User.objects.create_superuser("root", "root@example.org", "password")
    visitor = Visitor(browser, live_server.url)
    sign_in(visitor.page, live_server.url, "root")
    job = site["project"].jobs.get(media__original_name="queued.wav")
    for path in ("/ops/", "/admin/", "/admin/transcription/job/", f"/admin/transcription/job/{job.pk}/change/",
                 "/admin/portal/team/", "/admin/axes/accessattempt/",
                 f"/admin/transcription/transcript/{site['transcript'].pk}/change/"):
        assert visitor.visit(path) == [], path
    # The admin's Cancel asks first.
    visitor.visit(f"/admin/transcription/job/{job.pk}/change/")
    visitor.page.once("dialog", lambda d: d.dismiss())
    visitor.page.locator("button:has-text('Cancel job')").click()
    visitor.page.wait_for_timeout(300)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert visitor.violations() == []


@needs_chromium
@live
def test_a_violation_would_be_seen(live_server, browser, db):
    """The watch itself works: an inline script injected into a page is blocked and reported."""
    visitor = Visitor(browser, live_server.url)
    visitor.visit("/accounts/login/")
    visitor.page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.body.appendChild(s); }""")
    visitor.page.wait_for_timeout(200)
    assert visitor.page.evaluate("window.__ran === undefined")
    assert any(re.search(r"script-src", v) for v in visitor.violations())


def test_no_template_has_inline_script_style_or_handlers():
    found = [f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
             for path in sorted((ROOT / "templates").rglob("*.html"))
             for match in INLINE.finditer(path.read_text())]
    assert found == []


@pytest.mark.django_db
def test_every_response_carries_the_policy(client, alice):
    for path in ("/accounts/login/", "/api/v1/teams/", "/api/schema/", "/healthz", "/no-such-page/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy, path
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
