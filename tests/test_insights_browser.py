"""The Insights panel in a real browser (Debian's chromium through Playwright), against the scripted
model server: generate a summary and chapters from the page, watch them arrive while the panel
polls, and click a chapter to seek the player. With INSIGHTS_SCREENSHOTS=<folder> it also saves the
panel in English and Chinese at 1280 and 360 px wide."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect  # noqa: E402

from portal.models import Profile  # noqa: E402
from tests.browser_support import needs_chromium, sign_in  # noqa: E402
from tests.queue_support import outgoing_purge, outgoing_run  # noqa: E402

pytest_plugins = ["tests.transcript_factory", "tests.llm_support"]
pytestmark = [pytest.mark.django_db(transaction=True), needs_chromium]

ANSWERS = {
    "summary": {"text": "A short meeting about the budget.", "points": ["The budget is 1,000 dollars."],
                "segments": [2]},
    "chapters": {"chapters": [{"title": "Welcome", "segment": 0}, {"title": "Budget", "segment": 2},
                              {"title": "Invented", "segment": 40}]},
}


def test_a_summary_is_generated_and_a_chapter_seeks_the_player(live_server, browser, transcript, scripted_llm):
    outgoing_purge()
    scripted_llm.reply = lambda body: json.dumps(ANSWERS[body["response_format"]["json_schema"]["name"]])
    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    panel = page.locator("#insights")
    for kind in ("summary", "chapters"):
        panel.locator("#insight-kind").select_option(kind)
        panel.get_by_role("button", name="Generate").click()
        # This kind's request is queued (the page shows it) before the queue is run.
        expect(panel.locator(f'.insight[data-kind="{kind}"][data-status="queued"]')).to_contain_text(
            "Waiting for the language model…")
        outgoing_run()  # the outgoing cluster's work, here; the panel polls until it shows the result
        expect(panel.locator(f'.insight[data-kind="{kind}"][data-status="succeeded"]')).to_be_visible(timeout=15000)
    expect(panel.get_by_text("A short meeting about the budget.")).to_be_visible(timeout=15000)
    chapter = panel.locator(".insight-chapters a", has_text="Budget")
    expect(chapter).to_be_visible(timeout=15000)
    expect(panel.get_by_text("1 reference removed (not in the transcript).")).to_be_visible()
    chapter.click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 2.5) < 0.01")

    folder = os.environ.get("INSIGHTS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for language in ("en", "zh-hans"):
            Profile.objects.update_or_create(user=transcript.job.created_by, defaults={"language": language})
            page = browser.new_page()
            sign_in(page, live_server.url, "alice")
            for width in (1280, 360):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{live_server.url}/transcripts/{transcript.id}/#insights")
                page.locator("#insights").screenshot(path=f"{folder}/insights-{language}-{width}.png")
