"""The password pages speak as the portal: the reset email names the portal (not the host the
request came to), a weak new password is flagged on the new-password field, and GET on the
logout address shows a page with the button instead of an empty 405."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_the_reset_email_names_the_portal(client, alice, settings):
    settings.SITE_NAME = "Acme Transcripts"
    client.post("/accounts/password_reset/", {"email": alice.email})
    [message] = mail.outbox
    assert message.subject == "Reset your password for Acme Transcripts"
    assert "Hello alice," in message.body and "on Acme Transcripts" in message.body
    assert "/accounts/reset/" in message.body and "testserver team" not in message.body


def test_a_too_common_password_is_flagged_on_the_new_password_field(alice):
    page = login(alice).post("/accounts/password_change/", {
        "old_password": "password", "new_password1": "password123", "new_password2": "password123"})
    form = page.context["form"]
    assert "This password is too common." in form.errors["new_password1"]
    assert "new_password2" not in form.errors


def test_logout_by_get_shows_a_page_with_the_button(alice, client):
    page = login(alice).get("/accounts/logout/")
    assert page.status_code == 200 and "You are signed in as alice." in page.content.decode()
    assert client.get("/accounts/logout/").status_code == 200
    assert login(alice).post("/accounts/logout/").status_code in (200, 302)
