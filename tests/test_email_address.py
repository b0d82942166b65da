"""Settings → Email address: a new address is confirmed by a link sent to it; the settings page
warns when a choice needs an address; the first admin's printed password works once."""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command

from portal.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db


def confirm_link() -> str:
    [message] = mail.outbox
    return urlsplit(re.search(r"https?://\S+/settings/email/confirm/\S+/", message.body).group(0)).path


def test_it_changes_the_address_once_the_link_sent_to_it_is_opened(alice):
    client = login(alice)
    page = client.post("/settings/email/", {"email": "alice@new.example"}, follow=True).content.decode()
    assert "We sent a link to alice@new.example" in page and "Waiting for you to open the link" in page
    alice.refresh_from_db()
    assert alice.email == "alice@example.org"  # not until confirmed
    [message] = mail.outbox
    assert message.to == ["alice@new.example"]
    link = confirm_link()
    assert client.get(link).status_code == 200  # a page with a button: opening the link changes nothing
    alice.refresh_from_db()
    assert alice.email == "alice@example.org"
    page = client.post(link, follow=True).content.decode()
    assert "Your email address is now alice@new.example." in page
    alice.refresh_from_db()
    assert alice.email == "alice@new.example" and alice.profile.email_pending == ""
    event = AuditEvent.objects.get(action="account.email")
    assert event.detail == {"from": "alice@example.org", "to": "alice@new.example"}


def test_a_link_works_only_for_its_account_and_the_latest_address(alice, bob):
    login(alice).post("/settings/email/", {"email": "first@new.example"})
    first = confirm_link()
    mail.outbox.clear()
    login(alice).post("/settings/email/", {"email": "second@new.example"})
    page = login(bob).post(first, follow=True).content.decode()
    assert "not for the address you last asked for, or not for this account" in page
    page = login(alice).post(first, follow=True).content.decode()
    assert "not for the address you last asked for" in page
    assert login(alice).post(first.replace("/confirm/", "/confirm/x"), follow=True).status_code == 400
    alice.refresh_from_db()
    assert alice.email == "alice@example.org"


@pytest.mark.parametrize(("email", "reason"), [
    ("not-an-address", "Enter a valid email address."),
    ("bob@example.org", "Another account uses this email address."),
    ("alice@example.org", "This is already your email address."),
    ("a\x00b@example.org", "Enter a valid email address."),
])
def test_it_refuses_a_bad_address_with_the_reason(alice, bob, email, reason):
    page = login(alice).post("/settings/email/", {"email": email}, HTTP_REFERER="/settings/", follow=True)
    assert reason in page.content.decode()
    assert mail.outbox == []


def test_settings_warn_when_emails_are_asked_for_without_an_address(db):
    user = User.objects.create_user("erin", "", "password")
    client = login(user)
    assert "You have no email address yet" in client.get("/settings/").content.decode()
    page = client.post("/settings/", {"language": "", "timezone": "", "theme": "system", "email_on_finish": "on"},
                       follow=True).content.decode()
    assert "You asked for emails but have no email address yet" in page


def test_the_saved_message_is_in_the_language_just_chosen(alice):
    page = login(alice).post("/settings/", {"language": "zh-hans", "timezone": "Asia/Shanghai", "theme": "system"},
                             follow=True).content.decode()
    assert "偏好设置已保存。" in page
    assert "Preferences saved." not in page


def test_the_time_zone_list_has_current_names_grouped_and_says_the_default(alice, settings):
    page = login(alice).get("/settings/").content.decode()
    assert '<optgroup label="Asia">' in page and '<option value="Asia/Shanghai">Shanghai</option>' in page
    assert "US/Eastern" not in page and "Etc/GMT+3" not in page
    assert "Server default (UTC)" in page and "Server default (English)" in page


def test_the_first_admin_must_choose_a_new_password_before_anything_else(client):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = re.search(r"one-time password: (\S+)", out.getvalue()).group(1)
    client.post("/accounts/login/", {"username": "admin", "password": password})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/"
    assert client.get("/accounts/password_change/").status_code == 200
    response = client.post("/accounts/password_change/", {"old_password": password,
                                                          "new_password1": "a-much-better-secret-42",
                                                          "new_password2": "a-much-better-secret-42"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="account.create", object_repr="admin").exists()
