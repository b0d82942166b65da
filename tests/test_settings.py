from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SECRET_KEY", "DEBUG", "SECURE_", "SESSION_", "CSRF_", "DJANGO_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    r = _manage("check", "--deploy", "--fail-level", "WARNING", env={
        "DEBUG": "false", "SECRET_KEY": "p" * 20 + "roduction-Secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "asr.example.org", "DATA_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues" in r.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    r = _manage("check", env={"DEBUG": "false", "DATA_DIR": str(tmp_path)})
    assert r.returncode != 0
    assert "SECRET_KEY is not set" in r.stderr


def test_development_generates_a_secret_key_once_and_reuses_it(tmp_path):
    for _ in range(2):
        r = _manage("check", env={"DEBUG": "true", "DATA_DIR": str(tmp_path)})
        assert r.returncode == 0, r.stderr
    key = (tmp_path / "secret_key.txt").read_text()
    assert len(key) >= 50
    assert oct((tmp_path / "secret_key.txt").stat().st_mode & 0o777) == "0o600"


def test_local_http_runs_plain_http_on_loopback_with_debug_off(tmp_path):
    r = _manage("shell", "-c", "from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, "
                "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)",
                env={"LOCAL_HTTP": "true", "BIND": "127.0.0.1:8000", "DATA_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].split() == ["False", "False", "False", "False"]
    assert oct((tmp_path / "secret_key.txt").stat().st_mode & 0o777) == "0o600"


def test_local_http_is_refused_for_a_server_open_to_the_network(tmp_path):
    r = _manage("check", env={"LOCAL_HTTP": "true", "BIND": "0.0.0.0:8000", "DATA_DIR": str(tmp_path)})
    assert r.returncode != 0
    assert "LOCAL_HTTP is only for a server bound to loopback" in r.stderr


@pytest.mark.parametrize("value", ["ture", "2", "enabled"])
def test_a_mistyped_switch_stops_the_start_and_names_the_variable(tmp_path, value):
    r = _manage("check", env={"LOCAL_HTTP": "true", "DATA_DIR": str(tmp_path), "EMAIL_USE_TLS": value})
    assert r.returncode != 0
    assert f"EMAIL_USE_TLS must be true or false (or 1/0, yes/no, on/off), not '{value}'." in r.stderr


@pytest.mark.parametrize("value", ["TRUE", " yes ", "On", "1"])
def test_a_switch_takes_the_usual_spellings(tmp_path, value):
    r = _manage("shell", "-c", "from django.conf import settings; print(settings.EMAIL_USE_TLS)",
                env={"LOCAL_HTTP": "true", "DATA_DIR": str(tmp_path), "EMAIL_USE_TLS": value})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "True"
