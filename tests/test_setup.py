from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_it_creates_the_first_admin_with_a_one_time_password():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    password = re.search(r"one-time password: (\S+)", out.getvalue()).group(1)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)


def test_it_creates_no_admin_when_users_exist(alice):
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert not User.objects.filter(username="admin").exists()
    assert "password" not in out.getvalue()


def test_the_admin_banner_gives_the_real_address_and_where_to_change_the_password(settings):
    settings.BIND, settings.LOCAL_HTTP = "127.0.0.1:8123", True
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    text = out.getvalue()
    assert "Sign in at http://127.0.0.1:8123/" in text
    assert "Change password (http://127.0.0.1:8123/accounts/password_change/)" in text
