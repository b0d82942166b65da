"""Theme: pages follow the system's light or dark setting unless the user
chose Light or Dark under Settings (stored on their Profile)."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


from portal.models import Profile, Theme  # noqa: E402
from tests.browser_support import sign_in  # noqa: E402
from tests.conftest import login  # noqa: E402


def html_tag(response) -> str:
    page = response.content.decode()
    return page[page.index("<html"):page.index(">", page.index("<html")) + 1]


@pytest.mark.django_db
def test_pages_follow_the_system_by_default(client, alice):
    assert "data-theme" not in html_tag(client.get("/accounts/login/"))
    response = login(alice).get("/")
    assert "data-theme" not in html_tag(response)
    assert '<meta name="color-scheme" content="light dark">' in response.content.decode()


@pytest.mark.django_db
def test_the_chosen_theme_is_stored_and_rendered(alice):
    client = login(alice)
    page = client.get("/settings/").content.decode()
    assert 'name="theme"' in page and ">System<" in page and ">Light<" in page and ">Dark<" in page
    response = client.post("/settings/", {"language": "", "timezone": "", "theme": "dark"})
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).theme == Theme.DARK
    page = client.get("/")
    assert 'data-theme="dark"' in html_tag(page)
    assert '<meta name="color-scheme" content="dark">' in page.content.decode()
    client.post("/settings/", {"language": "", "timezone": "", "theme": "light"})
    assert 'data-theme="light"' in html_tag(client.get("/queue/"))
    client.post("/settings/", {"language": "", "timezone": "", "theme": "system"})
    assert "data-theme" not in html_tag(client.get("/"))


@pytest.mark.django_db
def test_a_bad_theme_is_refused_and_nothing_is_lost(alice):
    client = login(alice)
    client.post("/settings/", {"language": "zh-hans", "timezone": "Asia/Shanghai", "theme": "dark"})
    response = client.post("/settings/", {"language": "", "timezone": "", "theme": "neon"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    profile = Profile.objects.get(user=alice)
    assert (profile.theme, profile.language, profile.timezone) == (Theme.DARK, "zh-hans", "Asia/Shanghai")


@pytest.mark.django_db
def test_a_form_without_the_field_keeps_the_system_theme(alice):
    login(alice).post("/settings/", {"language": "", "timezone": "Asia/Shanghai"})
    assert Profile.objects.get(user=alice).theme == Theme.SYSTEM


@pytest.mark.skipif(not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"),
                    reason="Debian chromium is not installed")
@pytest.mark.django_db(transaction=True)
def test_a_dark_system_gets_dark_pages_until_light_is_chosen(live_server, browser, alice):
    page = browser.new_context(color_scheme="dark").new_page()
    sign_in(page, live_server.url, "alice")
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    dark = page.evaluate(background)
    page.goto(f"{live_server.url}/settings/")
    page.select_option("select[name=theme]", "light")
    with page.expect_navigation():
        page.locator("#preferences-form button[type=submit]").click()
    light = page.evaluate(background)
    assert dark != light
    assert sum(int(c) for c in dark[dark.index("(") + 1:-1].split(",")[:3]) < 200  # dark
    assert sum(int(c) for c in light[light.index("(") + 1:-1].split(",")[:3]) > 600  # light
