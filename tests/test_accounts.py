from __future__ import annotations

import pytest
from django.test import Client

from portal.models import Profile
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_serves_the_login_page():
    r = Client().get("/accounts/login/")
    assert r.status_code == 200 and b"Sign in" in r.content


def test_it_signs_in_and_out(alice):
    c = Client()
    r = c.post("/accounts/login/", {"username": "alice", "password": "password"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert c.get("/").status_code == 200
    c.post("/accounts/logout/")
    assert c.get("/").status_code == 302


def test_it_rejects_a_wrong_password(alice):
    r = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert r.status_code == 200 and b"didn" in r.content


def test_it_changes_the_password(alice):
    c = login(alice)
    r = c.post("/accounts/password_change/", {
        "old_password": "password", "new_password1": "a-much-better-one-42", "new_password2": "a-much-better-one-42"})
    assert r.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-much-better-one-42")


def test_it_saves_language_and_timezone_preferences(alice):
    c = login(alice)
    c.post("/settings/", {"language": "zh-hans", "timezone": "Asia/Shanghai", "email_on_finish": "on"})
    profile = Profile.objects.get(user=alice)
    assert (profile.language, profile.timezone, profile.email_on_finish) == ("zh-hans", "Asia/Shanghai", True)
    r = c.get("/")
    assert "仪表板".encode() in r.content or r["Content-Language"] == "zh-hans"


def test_it_rejects_an_unknown_timezone(alice):
    r = login(alice).post("/settings/", {"language": "", "timezone": "Mars/Olympus"})
    assert r.status_code == 200 and b"Select a valid choice" in r.content
