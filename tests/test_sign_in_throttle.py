"""Sign-in throttling: the web login, the admin login and the API token
endpoint lock a client out after LOGIN_FAILURE_LIMIT wrong passwords (even
the right one is refused then), staff unlock in the admin, password reset
requests are rate-limited, and throttle counts are shared by every process
(the database cache without Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from api.models import ApiToken
from portal.models import AuditEvent
from tests.api_support import fresh_cache  # noqa: F401
from tests.conftest import login

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
LOCKED = "Too many failed sign-in attempts. Try again in 15 minutes, or ask an administrator to unlock your account."


def sign_in(client: Client, password: str, username: str = "alice", **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_it_locks_the_web_sign_in_after_five_wrong_passwords(alice):
    client = Client()
    for _ in range(4):
        assert b"didn" in sign_in(client, "guess").content
    locked = sign_in(client, "guess")
    assert locked.status_code == 429
    # Now even the right password is refused, with the reason, on a page of the site.
    response = sign_in(client, "password")
    assert response.status_code == 429 and not signed_in(client)
    page = response.content.decode()
    assert LOCKED in page
    assert "Sign-in locked" in page and "/static/css/app.css" in page and 'href="/accounts/login/"' in page
    assert response["Retry-After"] == "900"


def test_the_lock_is_for_that_account_from_that_address_only(alice, bob):
    client = Client()
    for _ in range(5):
        sign_in(client, "guess")
    assert sign_in(client, "password").status_code == 429
    other_user = Client()
    assert sign_in(other_user, "password", username="bob").status_code == 302
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(elsewhere, "password").status_code == 302 and signed_in(elsewhere)


def test_a_successful_sign_in_starts_the_count_again(alice):
    client = Client()
    for _ in range(4):
        sign_in(client, "guess")
    assert sign_in(client, "password").status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        sign_in(client, "guess")
    assert sign_in(client, "password").status_code == 302


def test_the_lockout_page_is_translated(alice):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    for _ in range(6):
        response = sign_in(client, "guess")
    assert response.status_code == 429
    assert "登录" in response.content.decode()


def test_the_admin_sign_in_is_locked_too(alice):
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "alice", "password": "guess"})
    response = client.post("/admin/login/", {"username": "alice", "password": "password"})
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_the_api_token_endpoint_answers_the_lockout_as_json(alice):
    client = APIClient()
    for _ in range(4):
        assert client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"}).status_code == 400
    assert client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"}).status_code == 429
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"})
    assert response.status_code == 429 and response.json() == {"detail": LOCKED}
    assert not ApiToken.objects.exists()


def test_staff_unlock_an_account_in_the_admin(alice):
    staff = User.objects.create_superuser("root", "root@example.org", "password")
    client = Client()
    for _ in range(5):
        sign_in(client, "guess")
    assert sign_in(client, "password").status_code == 429
    attempt = AccessAttempt.objects.get(username="alice")
    admin = login(staff)
    page = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "alice" in page and "Unlock: forget these failed sign-ins" in page
    response = admin.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": [attempt.pk]},
                          follow=True)
    assert "1 sign-in lock removed." in response.content.decode()
    assert sign_in(client, "password").status_code == 302 and signed_in(client)
    event = AuditEvent.objects.get(action="account.unlock")
    assert event.actor == staff and event.detail["username"] == "alice" and "via" in event.detail


def test_password_reset_requests_are_limited_per_address(alice, settings):
    settings.PASSWORD_RESET_RATE = "3/hour"
    client = Client()
    for _ in range(3):
        assert client.post("/accounts/password_reset/", {"email": "alice@example.org"}).status_code == 302
    response = client.post("/accounts/password_reset/", {"email": "someone@example.org"})
    assert response.status_code == 429
    assert "Too many password reset requests. Try again later." in response.content.decode()
    assert len(mail.outbox) == 3


def test_password_reset_requests_are_limited_per_email_address(alice, settings):
    settings.PASSWORD_RESET_RATE = "2/hour"
    for n in range(2):
        assert Client(REMOTE_ADDR=f"198.51.100.{n}").post(
            "/accounts/password_reset/", {"email": "alice@example.org"}).status_code == 302
    response = Client(REMOTE_ADDR="198.51.100.9").post("/accounts/password_reset/", {"email": "ALICE@example.org"})
    assert response.status_code == 429
    assert len(mail.outbox) == 2


def test_the_password_reset_pages_are_the_sites_own(alice):
    page = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in page
    form = Client().get("/accounts/password_reset/").content.decode()
    assert "Reset your password" in form and "/static/css/app.css" in form
    Client().post("/accounts/password_reset/", {"email": "alice@example.org"})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line).strip()
    client = Client()
    confirm = client.get(link, follow=True)
    assert "Choose a new password" in confirm.content.decode()
    done = client.post(confirm.redirect_chain[-1][0], {"new_password1": "a-much-better-one-42",
                                                       "new_password2": "a-much-better-one-42"}, follow=True)
    assert "Your password was changed." in done.content.decode()
    assert sign_in(Client(), "a-much-better-one-42").status_code == 302


# --- one count for every process ------------------------------------------------------------

GUESSER = """
import json, os, sys
import django
from django.conf import settings
settings.CACHES["default"]["KEY_PREFIX"] = sys.argv[1]
django.setup()
from django.test import Client
client = Client()
codes = [client.post("/api/v1/auth/token/", {"username": f"ghost-{sys.argv[2]}-{i}", "password": "x"}).status_code
         for i in range(6)]
print(json.dumps(codes))
"""


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_share_one_token_throttle_count(worker_env):
    """Two separate processes (as two gunicorn workers would be) each send six
    guesses: together they get the documented 10 per minute, not 10 each."""
    env = {**worker_env, "API_TOKEN_RATE": "10/min", "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "ERROR"}
    prefix = f"t{uuid.uuid4().hex}"

    def guesses(name: str) -> list[int]:
        out = subprocess.run([sys.executable, "-c", GUESSER, prefix, name], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1])

    first, second = guesses("a"), guesses("b")
    assert first == [400] * 6
    assert second == [400] * 4 + [429] * 2
    if not os.environ.get("REDIS_URL"):
        from django.conf import settings

        assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_one_address_guessing_one_password_at_many_accounts_is_locked_out(alice):
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(30):  # LOGIN_ADDRESS_FAILURE_LIMIT: one guess each at 30 accounts
        assert sign_in(sprayer, "Summer2026!", username=f"user{n}").status_code == 200
    # The address is locked now, whatever account it tries, even with the right password.
    response = sign_in(sprayer, "password")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert "Sign-in locked" in response.content.decode() and response["Retry-After"] == "900"
    assert not signed_in(sprayer)
    # The API's token endpoint answers the same lock as JSON.
    api = APIClient(REMOTE_ADDR="203.0.113.9")
    answer = api.post("/api/v1/auth/token/", {"username": "alice", "password": "password"})
    assert answer.status_code == 429 and answer.json() == {"detail": LOCKED}
    # Another address signs in as usual.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(elsewhere, "password").status_code == 302 and signed_in(elsewhere)


def test_the_address_limit_is_a_setting_and_higher_than_the_accounts(alice, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    client = Client(REMOTE_ADDR="203.0.113.10")
    for n in range(7):
        assert sign_in(client, "guess", username=f"user{n}").status_code == 200
    assert sign_in(client, "password").status_code == 302  # 7 failures: under the limit
    client.post("/accounts/logout/")
    sign_in(client, "guess", username="user7")
    assert sign_in(client, "password").status_code == 429
