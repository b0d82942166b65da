"""Every page fits a phone: at 360 px nothing is wider than the screen
(document.documentElement.scrollWidth <= innerWidth), with long team,
project and file names in the data, and tables of several columns turn into
cards instead of scrolling sideways. The header folds into a menu there, and
on the transcript page the review controls come before the segments."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop; the ORM is still used from this thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from django.contrib.auth.models import User  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from api.services import token_create  # noqa: E402
from portal.actor import Actor  # noqa: E402
from portal.models import Membership, Project, Role, Team  # noqa: E402
from tests.browser_support import needs_chromium, sign_in  # noqa: E402
from tests.queue_support import make_job  # noqa: E402
from tests.transcript_factory import make_transcript  # noqa: E402
from transcription.job_states import JobStatus  # noqa: E402
from transcription.models import Webhook  # noqa: E402
from transcription.services.project_exports import project_export_request  # noqa: E402

pytest_plugins = ["tests.transcript_factory"]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]

PHONE = {"width": 360, "height": 740}
TEAM = "Regional Broadcasting Cooperative of the Northern Territories — Sound Archive"
PROJECT = "Oral history interviews with retired railway engineers and signal operators, 1950–1990"
FILE = "interview_recording_20240517_boardroom_microphone_array_channel_03_final_final_v2.wav"
FILE_ZH = "二〇二四年五月十七日董事会全体会议录音（含现场提问环节）第三声道最终版本.m4a"
URL = "https://hooks.internal-automation.example.org/services/transcription/webhooks/incoming/a1b2c3d4e5f6"

# The widest elements, to say what overflows when something does.
OVERFLOW = """() => {
  const limit = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > limit + 1 && el.checkVisibility({contentVisibilityAuto: true})) {
      const cls = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${cls} right=${Math.round(box.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: limit, wide: wide.slice(0, 8)};
}"""



@pytest.fixture
def long_names(alice: User, bob: User, media_root) -> dict:
    team = Team.objects.create(name=TEAM)
    Membership.objects.create(team=team, user=alice, role=Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
    project = Project.objects.create(team=team, name=PROJECT, created_by=alice,
                                     hotwords=["Northern Territories Railway Signalling Authority", "信号联锁系统"])
    transcript = make_transcript(project, user=alice, name=FILE)
    make_transcript(project, user=alice, name=FILE_ZH)
    make_job(project, alice, name=FILE_ZH.replace(".m4a", "（副本）.m4a"))
    make_job(project, alice, name="running_" + FILE, status=JobStatus.RUNNING, progress=40)
    failed = make_job(project, alice, name="failed_" + FILE, status=JobStatus.FAILED, attempts=3,
                      error="The file could not be decoded: Invalid data found when processing input "
                            "(stream 0, codec pcm_s16le, container wav, byte offset 1234567890).")
    Webhook.objects.create(project=project, url=URL, secret="s" * 64)
    token_create(actor=Actor.of(alice), user=alice,
                 name="continuous-integration-runner-on-build-server-number-seventeen")
    return {"team": team, "project": project, "transcript": transcript, "failed": failed}


def overflow(page, path: str) -> dict:
    response = page.goto(path)
    assert response is not None and response.status < 400, (path, response and response.status)
    page.wait_for_load_state("networkidle")
    return page.evaluate(OVERFLOW)


def too_wide(page, base: str, paths: list[str]) -> dict[str, dict]:
    found = {}
    for path in paths:
        result = overflow(page, base + path)
        if result["scroll"] > result["inner"]:
            found[path] = result
    return found


def test_every_page_fits_a_phone_screen(live_server, browser, long_names, alice):
    team, project, transcript = long_names["team"], long_names["project"], long_names["transcript"]
    page = browser.new_page(viewport=PHONE)
    assert too_wide(page, live_server.url, ["/accounts/login/", "/accounts/password_reset/"]) == {}

    sign_in(page, live_server.url, "alice")
    paths = [
        "/", f"/teams/{team.pk}/", f"/teams/{team.pk}/audit/", f"/projects/{project.pk}/",
        f"/projects/{project.pk}/edit/", f"/projects/{project.pk}/exports/",
        f"/projects/{project.pk}/glossary/", f"/projects/{project.pk}/webhooks/",
        f"/jobs/{transcript.job_id}/", f"/jobs/{long_names['failed'].pk}/", f"/transcripts/{transcript.pk}/",
        f"/transcripts/{transcript.pk}/replace/", "/queue/", "/search/?q=%E9%A2%84%E7%AE%97", "/search/?q=budget",
        "/settings/", "/settings/tokens/", "/accounts/password_change/", "/teams/new/",
    ]
    assert too_wide(page, live_server.url, paths) == {}

    User.objects.create_superuser("root", "root@example.org", "password")
    staff = browser.new_page(viewport=PHONE)
    sign_in(staff, live_server.url, "root")
    assert too_wide(staff, live_server.url, ["/", "/ops/", "/queue/", "/admin/"]) == {}


def test_the_header_folds_into_a_menu_on_a_phone(live_server, browser, long_names):
    page = browser.new_page(viewport=PHONE)
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/")
    queue_link = page.locator("header .nav-links a", has_text="My queue")
    expect(queue_link).to_be_hidden()
    page.locator("header .nav-menu > summary").click()
    expect(queue_link).to_be_visible()
    # Open, the menu still fits the screen; a click elsewhere closes it.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.mouse.click(180, 700)
    expect(queue_link).to_be_hidden()
    page.locator("header .nav-menu > summary").click()
    with page.expect_navigation():
        queue_link.click()
    assert page.url.endswith("/queue/")


def test_the_header_menu_works_without_javascript(live_server, browser, long_names):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/")
    page.locator("header .nav-menu > summary").click()
    expect(page.locator("header .nav-links a", has_text="My queue")).to_be_visible()
    # On a wide screen the links show as a row, no menu button to press.
    wide = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False).new_page()
    sign_in(wide, live_server.url, "alice")
    wide.goto(f"{live_server.url}/")
    expect(wide.locator("header .nav-links a", has_text="My queue")).to_be_visible()
    expect(wide.locator("header .nav-menu > summary")).to_be_hidden()


def test_the_links_show_as_a_row_on_a_wide_screen(live_server, browser, long_names):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/")
    expect(page.locator("header .nav-menu > summary")).to_be_hidden()
    dashboard = page.locator("header .nav-links a", has_text="Dashboard").bounding_box()
    queue = page.locator("header .nav-links a", has_text="My queue").bounding_box()
    assert dashboard and queue and abs(dashboard["y"] - queue["y"]) < 2


def test_review_controls_come_before_the_segments_on_a_phone(live_server, browser, long_names):
    transcript = long_names["transcript"]
    page = browser.new_page(viewport=PHONE)
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/transcripts/{transcript.pk}/")
    review = page.locator("#review-heading").bounding_box()
    segments = page.locator("#segments").bounding_box()
    assert review and segments and review["y"] < segments["y"]
    # On a wide screen they sit side by side, the segments on the right.
    page.set_viewport_size({"width": 1280, "height": 900})
    review = page.locator("#review-heading").bounding_box()
    segments = page.locator("#segments").bounding_box()
    assert review and segments and review["x"] < segments["x"]


# Tables that scroll sideways inside their box, with what they hold and what is shown of it (the ops
# page's chart, a figure, may scroll: its labels would not be legible squeezed to a phone's width).
SIDEWAYS = """() => [...document.querySelectorAll("div.table-scroll")]
  .filter(el => el.checkVisibility() && el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.querySelector("th, td")?.textContent.trim()}: ${el.scrollWidth} > ${el.clientWidth}`)"""


def sideways_tables(page, base: str, paths: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        page.goto(base + path)
        if wide := page.evaluate(SIDEWAYS):
            found[path] = wide
    return found


def test_tables_become_cards_rather_than_scroll_sideways_on_a_phone(live_server, browser, long_names, alice):
    team, project = long_names["team"], long_names["project"]
    project_export_request(actor=Actor.of(alice), project=project, format="srt")  # an export and its audit line
    page = browser.new_page(viewport=PHONE)
    sign_in(page, live_server.url, "alice")
    found = sideways_tables(page, live_server.url, [
        "/", f"/teams/{team.pk}/", f"/teams/{team.pk}/audit/", f"/projects/{project.pk}/",
        f"/projects/{project.pk}/exports/", f"/projects/{project.pk}/webhooks/", "/queue/", "/settings/tokens/"])
    User.objects.create_superuser("root", "root@example.org", "password")
    staff = browser.new_page(viewport=PHONE)
    sign_in(staff, live_server.url, "root")
    found.update(sideways_tables(staff, live_server.url, ["/ops/"]))
    # On a wide screen the running jobs' long file names wrap rather than push columns out of view.
    staff.set_viewport_size({"width": 1280, "height": 800})
    staff.reload()
    if wide := staff.evaluate(SIDEWAYS):
        found["/ops/ at 1280 px"] = wide
    assert found == {}
    # The cards still say what each value is.
    page.goto(f"{live_server.url}/projects/{project.pk}/exports/")
    label = page.locator("#export-list td").first.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Requested"'


def test_job_tables_and_the_audit_log_fit_a_tablet(live_server, browser, long_names):
    # Between phone and desktop the tables keep their columns; none may push its actions out of view.
    team, project = long_names["team"], long_names["project"]
    page = browser.new_page(viewport={"width": 768, "height": 1024})
    sign_in(page, live_server.url, "alice")
    assert sideways_tables(page, live_server.url, ["/", f"/teams/{team.pk}/audit/", f"/projects/{project.pk}/",
                                                   "/queue/"]) == {}
    expect(page.locator("table.jobs .job-actions button", has_text="Cancel").first).to_be_in_viewport()
