"""The logs say what happens: no access line per static file from gunicorn, and none of django-q2's
once-a-minute scheduler chatter, while real errors (and a missing static file) still show."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from gunicorn.config import Config
from gunicorn.http.wsgi import Response

from portal.log_filters import AccessLogger, DemoteQueueChatter


class _Req:
    method, version, path, query, uri, headers = "GET", (1, 1), "/", "", "/", []


def access_lines(path: str, status: str, capsys) -> list[str]:
    """The access lines gunicorn writes to stdout (--access-logfile -) for one request."""
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = AccessLogger(cfg)
    response = Response(_Req(), None, cfg)
    response.status, response.response_length = status, 10
    capsys.readouterr()
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(response, _Req(), environ, timedelta(milliseconds=10))
    return [line for line in capsys.readouterr().out.splitlines() if path in line]


def test_gunicorn_logs_pages_but_not_static_files(capsys, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    assert access_lines("/queue/", "200 OK", capsys)
    assert access_lines("/static/css/app.css", "200 OK", capsys) == []
    assert access_lines("/static/vendor/htmx.min.js", "304 Not Modified", capsys) == []
    assert access_lines("/static/missing.css", "404 Not Found", capsys)  # a broken link is still seen


def test_log_level_debug_brings_the_static_lines_back(capsys, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    assert access_lines("/static/css/app.css", "200 OK", capsys)


@pytest.mark.parametrize("message", [
    "Process-1 created task reap_stale_jobs from schedule [Reap stale jobs]",
    "Process-1:1 processing 'transcription.tasks.reap_stale_jobs' [reap]",
    "Processed 'transcription.tasks.send_due_webhooks' (alpha-bravo)",
    "Enqueued [asr] 17",
])
def test_django_q_routine_lines_are_debug(message):
    record = logging.LogRecord("django-q", logging.INFO, __file__, 1, message, None, None)
    assert DemoteQueueChatter().filter(record) is logging.getLogger().isEnabledFor(logging.DEBUG)
    assert record.levelname == "DEBUG"


def test_django_q_start_stop_and_failures_stay(caplog):
    for level, message in ((logging.INFO, "Q Cluster asr starting."), (logging.ERROR, "Failed 'x' - boom")):
        record = logging.LogRecord("django-q", level, __file__, 1, message, None, None)
        assert DemoteQueueChatter().filter(record) is True
        assert record.levelno == level


def test_the_filter_is_on_the_django_q_logger():
    assert any(isinstance(f, DemoteQueueChatter) for f in logging.getLogger("django-q").filters)
