"""Keeping the logs to what happens: gunicorn without an access line per static file, django-q2
without its once-a-minute scheduler chatter (both still there with LOG_LEVEL=DEBUG)."""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# django-q2 logs these at INFO for every schedule run and every wake-up it enqueues or processes.
_Q_CHATTER = (" created task ", " processing ", "Processed '", "Enqueued [")
QUIET_PREFIXES = ("/static/", "/favicon.")


class DemoteQueueChatter(logging.Filter):
    """On the django-q logger: its routine lines become DEBUG (dropped unless that level is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and any(part in record.getMessage() for part in _Q_CHATTER):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class AccessLogger(GunicornLogger):
    """gunicorn's logger (``--logger-class``), with no access line for static files that answered
    200 or 304; any other answer for them (a 404, say) is still logged."""

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        quiet = os.getenv("LOG_LEVEL", "INFO").upper() != "DEBUG"
        status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
        if quiet and environ.get("PATH_INFO", "").startswith(QUIET_PREFIXES) and status in ("200", "304"):
            return
        super().access(resp, req, environ, request_time)
