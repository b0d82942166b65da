"""Settings for the test suite: the real portal settings, with test-only
values supplied through the same environment variables a deployment uses."""

import os
from pathlib import Path

_root = Path(__file__).resolve().parent.parent
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)
os.environ.setdefault("DATA_DIR", str(_root / "data" / "test"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A file database, so worker subprocesses started by tests see the same data;
# one per test run, so two runs on one machine never share it.
os.environ.setdefault("SQLITE_TEST_PATH", str(_root / "data" / "test" / f"test-db-{os.getpid()}.sqlite3"))

from portal.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# Test-only hook (transcription/services/worker.py, _test_crash_hook): a worker that starts decoding a
# file whose name contains this kills itself, as an out-of-memory kill would. Empty: inert.
TEST_CRASH_ON_FILE_NAME = os.getenv("TEST_CRASH_ON_FILE_NAME", "")
