"""The transcript workspace in a real browser (Debian's chromium, driven by
Playwright): sign in, seek by clicking, edit inline, download a docx."""

from __future__ import annotations

import os
import re

import docx
import pytest

# Playwright's sync API runs an event loop; Django must still allow ORM calls
# from the test's own thread (fixtures, assertions).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect  # noqa: E402

from tests.browser_support import needs_chromium, sign_in  # noqa: E402

pytest_plugins = ["tests.transcript_factory"]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]





def test_it_seeks_edits_and_exports_in_a_browser(live_server, browser, transcript):
    page = browser.new_page(accept_downloads=True)
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/")

    # The player loaded the media through the authorised Range view.
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(4.0, abs=0.05)

    # Clicking a segment moves the playhead to its start and highlights it.
    page.locator("#seg-2 .seg-text").click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 2.5) < 0.01")
    expect(page.locator("#seg-2")).to_have_class(re.compile(r"\bcurrent\b"))
    # Keyboard: L jumps to the next segment.
    page.keyboard.press("l")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 3.4) < 0.01")

    # Inline edit: Escape cancels, Ctrl+Enter saves without a reload.
    page.locator("#seg-1").hover()
    page.locator("#seg-1 [data-edit]").click()
    textarea = page.locator("#seg-1 textarea")
    expect(textarea).to_be_focused()
    textarea.fill("不要保存这个")
    textarea.press("Escape")
    expect(page.locator("#seg-1 .seg-text")).to_have_text("我们先讨论预算问题。")

    page.locator("#seg-1").hover()
    page.locator("#seg-1 [data-edit]").click()
    textarea = page.locator("#seg-1 textarea")
    expect(textarea).to_be_focused()
    textarea.fill("我们先讨论明年的预算。")
    page.evaluate("window.__sameDocument = true")
    textarea.press("Control+Enter")
    expect(page.locator("#seg-1 .seg-text")).to_have_text("我们先讨论明年的预算。")
    assert page.evaluate("window.__sameDocument") is True  # no page load happened
    page.reload()
    expect(page.locator("#seg-1 .seg-text")).to_have_text("我们先讨论明年的预算。")

    # Export menu: download a Word file and read it back.
    page.locator("#export-menu summary").click()
    page.check("input[name=format][value=docx]")
    with page.expect_download() as download_info:
        page.locator(".export-panel button[type=submit]").click()
    download = download_info.value
    assert download.suggested_filename == "会议录音 2024-05.docx"
    document = docx.Document(download.path())
    text = "\n".join(p.text for p in document.paragraphs)
    assert "我们先讨论明年的预算。" in text and "大家好，欢迎参加今天的会议。" in text


def test_a_project_zip_downloads_with_one_click_and_is_listed_at_once(live_server, browser, transcript):
    page = browser.new_page(accept_downloads=True)
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/projects/{transcript.job.project_id}/exports/")
    expect(page.locator("#export-list")).to_contain_text("No exports yet.")
    page.select_option("select[name=format]", "srt")
    with page.expect_download() as download_info:
        page.locator(".project-export-form button[type=submit]").click()
    assert download_info.value.suggested_filename.endswith(".zip")
    expect(page.locator("#export-list tbody tr")).to_have_count(1)
    expect(page.locator("#export-list tbody tr")).to_contain_text("SRT")
    expect(page.locator("p.export-ready")).to_have_count(1)  # with its link, should the download not start
    page.reload()  # no second download: it was fetched
    expect(page.locator("#export-list tbody tr")).to_have_count(1)
    expect(page.locator("p.export-ready")).to_have_count(0)


def test_in_page_search_highlights_matches(live_server, browser, transcript):
    page = browser.new_page()
    sign_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/?q=大家#seg-3")
    expect(page.locator("#segments mark")).to_have_count(2)
    expect(page.locator("#ts-search-count")).to_have_text("2 matches")
    expect(page.locator("#seg-1")).to_have_class(re.compile(r"search-miss"))
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 3.4) < 0.01")
    # Bob is a viewer: no edit controls anywhere.
    expect(page.locator("[data-edit]")).to_have_count(0)


def test_speaker_rename_and_restore_update_the_page_in_place(live_server, browser, transcript):
    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/")
    page.evaluate("window.__sameDocument = true")

    # Renaming spk0 relabels both of its segments without a reload.
    form = page.locator("#speakers form").filter(has=page.locator("input[name=speaker][value=spk0]"))
    form.locator("input[name=name]").fill("主持人")
    form.locator("button[type=submit]").click()
    expect(page.locator('#seg-0 .seg-speaker')).to_have_text("主持人")
    expect(page.locator('#seg-2 .seg-speaker')).to_have_text("主持人")
    expect(page.locator('#seg-1 .seg-speaker')).to_have_text("spk1")

    # Edit, then restore the original from the history dialog.
    page.locator("#seg-0").hover()
    page.locator("#seg-0 [data-edit]").click()
    expect(page.locator("#seg-0 textarea")).to_be_focused()
    page.locator("#seg-0 textarea").fill("改过一次")
    page.locator("#seg-0 button[type=submit]").click()
    expect(page.locator("#seg-0 .seg-text")).to_have_text("改过一次")
    page.locator("#seg-0 [data-history]").click()
    dialog = page.locator("#revisions-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".revision")).to_have_count(2)
    dialog.get_by_role("button", name="Restore the original").click()
    expect(page.locator("#seg-0 .seg-text")).to_have_text("大家好，欢迎参加今天的会议。")
    expect(dialog.locator(".revision")).to_have_count(3)
    expect(page.locator("#seg-0 [data-history]")).to_have_text("2 edits")
    assert page.evaluate("window.__sameDocument") is True


def test_clicking_a_word_seeks_to_it_and_playback_highlights_it(live_server, browser, transcript):
    from transcription.models import Segment

    Segment.objects.filter(transcript=transcript, index=1).update(
        text="我们先讨论预算问题。", words=[["我们", 1.0, 1.3], ["先", 1.3, 1.5], ["讨论", 1.5, 1.9],
                                        ["预算", 1.9, 2.2], ["问题", 2.2, 2.5]])
    page = browser.new_page()
    sign_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    page.locator("#seg-1 .w", has_text="预算").click()
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 1.9) < 0.01")
    expect(page.locator("#seg-1 .w", has_text="预算")).to_have_class(re.compile(r"\bcurrent-word\b"))
