"""POST /api/v1/auth/token/, `Authorization: Token`, session auth, and the
Settings → API tokens page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import key_hash, token_create
from portal.actor import Actor  # noqa: E402
from tests.api_support import api, fresh_cache  # noqa: F401
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_trades_a_password_for_a_working_token(alice, team):
    r = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "password"}, format="json")
    assert r.status_code == 200
    key = r.json()["token"]
    token = ApiToken.objects.get(user=alice)
    assert token.name == "API login"
    # Only a hash and a short prefix are stored.
    assert token.key_hash == key_hash(key) and key not in (token.prefix, token.key_hash)
    assert key.startswith(token.prefix)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    r = client.get("/api/v1/teams/")
    assert r.status_code == 200 and r.json()["results"][0]["name"] == "Alpha"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_rejects_a_wrong_password_without_a_token(alice):
    r = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert r.status_code == 400
    assert r.json() == {"detail": "Unable to log in with the provided username and password."}
    assert not ApiToken.objects.exists()


def test_it_rejects_an_inactive_user(alice):
    alice.is_active = False
    alice.save()
    r = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "password"}, format="json")
    assert r.status_code == 400


def test_it_explains_missing_fields(db):
    r = APIClient().post("/api/v1/auth/token/", {"username": "alice"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["detail"] == "password: This field is required."
    assert body["errors"] == {"password": ["This field is required."]}


def test_it_only_accepts_post_for_tokens(db):
    r = APIClient().get("/api/v1/auth/token/")
    assert r.status_code == 405 and r.json() == {"detail": 'Method "GET" not allowed.'}


def test_it_throttles_password_guessing_per_address(alice, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_token": "3/min"}}
    client = APIClient()
    for _ in range(3):
        assert client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"}).status_code == 400
    r = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"})
    assert r.status_code == 429
    assert "throttled" in r.json()["detail"] and set(r.json()) == {"detail"}
    assert not ApiToken.objects.exists()
    # A spoofed X-Forwarded-For does not buy more guesses.
    r = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"},
                    HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert r.status_code == 429
    # Another address still can.
    r = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"},
                    REMOTE_ADDR="198.51.100.7")
    assert r.status_code == 200


def test_it_answers_401_with_a_challenge_to_anonymous(db):
    r = APIClient().get("/api/v1/jobs/")
    assert r.status_code == 401
    assert r.json() == {"detail": "Authentication credentials were not provided."}
    assert r["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token nope", "Token", "Token a b", "Token tp_" + "x" * 40])
def test_it_answers_401_to_a_bad_token(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    r = client.get("/api/v1/teams/")
    assert r.status_code == 401 and r.json()["detail"].startswith("Invalid token")


def test_it_stops_accepting_a_token_of_a_deactivated_user(alice):
    client = api(alice)
    assert client.get("/api/v1/teams/").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/teams/").status_code == 401


def test_it_accepts_the_browser_session_with_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/teams/").status_code == 200
    r = client.post("/api/v1/teams/", {"name": "Beta"}, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    client.get("/settings/tokens/")  # sets the CSRF cookie
    r = client.post("/api/v1/teams/", {"name": "Beta"}, content_type="application/json",
                    HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert r.status_code == 201


# --- the settings page -------------------------------------------------------------


def test_it_creates_a_token_on_the_settings_page_and_shows_it_once(alice):
    client = login(alice)
    r = client.post("/settings/tokens/", {"name": "Nightly upload script"}, follow=True)
    assert r.status_code == 200
    key = re.search(rb'value="(tp_[^"]+)"', r.content).group(1).decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "Nightly upload script" and token.key_hash == key_hash(key)
    assert b"Copy it now" in r.content
    again = client.get("/settings/tokens/")
    assert key.encode() not in again.content
    assert b"Nightly upload script" in again.content and token.prefix.encode() in again.content
    assert b"Never" in again.content  # not used yet
    assert api_get_with(key).status_code == 200


def api_get_with(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/teams/")


def test_it_requires_a_token_name(alice):
    r = login(alice).post("/settings/tokens/", {"name": " "})
    assert r.status_code == 400 and b"This field is required" in r.content
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token(alice):
    client = login(alice)
    client.post("/settings/tokens/", {"name": "old laptop"})
    kept = ApiToken.objects.get(user=alice)
    _ci, key = token_create(actor=Actor.of(alice), user=alice, name="ci")
    assert api_get_with(key).status_code == 200
    r = client.post(f"/settings/tokens/{_ci.pk}/revoke/", follow=True)
    assert r.status_code == 200 and "Token “ci” revoked".encode() in r.content
    assert api_get_with(key).status_code == 401
    assert list(ApiToken.objects.all()) == [kept]


def test_it_hides_other_peoples_tokens(alice, charlie):
    login(alice).post("/settings/tokens/", {"name": "alice's"})
    token = ApiToken.objects.get()
    assert b"alice&#x27;s" not in login(charlie).get("/settings/tokens/").content
    assert login(charlie).post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_it_only_revokes_with_post(alice):
    client = login(alice)
    client.post("/settings/tokens/", {"name": "x"})
    token = ApiToken.objects.get()
    assert client.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405
    assert client.post("/settings/tokens/abc/revoke/").status_code == 404


def test_it_redirects_anonymous_from_the_tokens_page(db):
    r = Client().get("/settings/tokens/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_it_links_the_tokens_page_from_the_user_menu(alice):
    r = login(alice).get("/")
    assert b'href="/settings/tokens/"' in r.content


def test_it_lets_staff_see_and_revoke_tokens_in_the_admin(alice, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "password")
    token, key = token_create(actor=Actor.of(alice), user=alice, name="leaked laptop")
    client = login(admin)
    page = client.get("/admin/api/apitoken/")
    assert page.status_code == 200
    assert b"leaked laptop" in page.content and token.prefix.encode() in page.content
    assert token.key_hash.encode() not in page.content and key.encode() not in page.content
    assert client.get("/admin/api/apitoken/add/").status_code == 403
    r = client.post(f"/admin/api/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and not ApiToken.objects.exists()
    assert api_get_with(key).status_code == 401
