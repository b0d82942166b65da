"""People and rough edges in a real browser (Debian's chromium via Playwright):
E puts the caret at the end of the segment's text, and the members table asks
before changing a role (declining leaves the role as it was)."""

from __future__ import annotations

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect  # noqa: E402

from portal.models import Membership, Role  # noqa: E402
from tests.browser_support import needs_chromium, sign_in  # noqa: E402

pytest_plugins = ["tests.transcript_factory"]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


def test_pressing_e_puts_the_caret_at_the_end(live_server, browser, transcript):  # noqa: F811
    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/transcripts/{transcript.id}/")
    page.locator("#seg-1 .seg-text").click()
    page.keyboard.press("e")
    textarea = page.locator("#seg-1 textarea")
    expect(textarea).to_be_focused()
    page.keyboard.type("X")
    expect(textarea).to_have_value("我们先讨论预算问题。X")


def test_changing_a_role_asks_first(live_server, browser, team):  # noqa: F811
    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/teams/{team.id}/")
    questions: list[str] = []

    def decline(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    select = page.locator("form[action$='/members/role/']:has(input[value=bob]) select")
    select.select_option("admin")
    expect(select).to_have_value("viewer")
    assert questions == ["Change the role of bob to Admin?"]
    assert Membership.objects.get(team=team, user__username="bob").role == Role.VIEWER

    page.once("dialog", lambda dialog: dialog.accept())
    select.select_option("member")
    expect(page.locator(".flash-success")).to_have_text("Role updated.")
    assert Membership.objects.get(team=team, user__username="bob").role == Role.MEMBER
