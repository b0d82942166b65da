"""GET /healthz: database, broker and queue depth; no auth, no data."""

from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.test import Client

from tests.api_support import fresh_cache, make_job  # noqa: F401
from transcription.models import JobStatus

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_reports_ok_without_authentication(project, alice):
    make_job(project, alice)
    make_job(project, alice)
    make_job(project, alice, status=JobStatus.RUNNING)
    make_job(project, alice, status=JobStatus.SUCCEEDED)
    r = Client().get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body.pop("asr").keys() == {"ready", "problems"}  # test_readiness.py tells ready from not
    assert body == {"status": "ok", "database": "ok", "broker": "ok", "pages": "ok",
                    "queue": {"queued": 2, "running": 1}}
    assert "no-cache" in r["Cache-Control"]


def test_it_leaks_nothing_about_users_or_files(project, alice):
    make_job(project, alice, filename="secret-board-meeting.wav")
    body = Client().get("/healthz").content.decode()
    for secret in ("secret-board-meeting", "alice", "Interviews", "Alpha", str(project.id)):
        assert secret not in body


def test_it_answers_503_when_the_redis_broker_is_down(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": f"redis://127.0.0.1:{closed_port()}/0"}
    r = Client().get("/healthz")
    assert r.status_code == 503
    body = r.json()
    body.pop("asr")
    assert body == {"status": "error", "database": "ok", "broker": "error", "pages": "ok",
                    "queue": {"queued": 0, "running": 0}}


def test_it_answers_503_when_the_database_is_down(monkeypatch, settings):
    def unreachable(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    # Fault injection at the driver boundary: every query fails like a dead server.
    monkeypatch.setattr(connection, "cursor", unreachable)
    r = Client().get("/healthz")
    assert r.status_code == 503
    # The ORM broker lives in the database; a Redis broker is still up.
    broker = "ok" if settings.Q_CLUSTER.get("redis") else "error"
    body = r.json()
    body.pop("asr")
    assert body == {"status": "error", "database": "error", "broker": broker, "pages": "ok", "queue": None}


def test_it_only_answers_get(db):
    assert Client().post("/healthz").status_code == 405


def test_it_answers_503_when_pages_cannot_render_for_want_of_the_static_manifest(settings, tmp_path):
    # As deployed (the manifest storage), but collectstatic never ran: every page is a 500.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    settings.STATIC_ROOT = tmp_path
    r = Client().get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "error" and r.json()["pages"] == "error"
    assert r.json()["database"] == "ok" and r.json()["broker"] == "ok"
