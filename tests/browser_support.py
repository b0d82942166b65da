"""The browser the browser tests drive: Debian's chromium through Playwright
(never a downloaded browser), headless, and how a named user signs in."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Playwright's sync API runs an event loop; Django must still allow ORM calls
# from the test's own thread (fixtures, assertions).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not shutil.which("chromium") and not os.path.exists(CHROMIUM),
                                    reason="Debian chromium is not installed")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's chromium with the suite's flags and any extra ones (e.g. a fake microphone)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
