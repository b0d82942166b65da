"""Muting funasr's chatter (root-logger INFO, print()s, the handler its basicConfig() may add).

Shared by threads: the worker runs VAD on one thread while another runs ASR, and both stdout
and the root logger are process-global. So the first thread to enter installs the muting and
the last one to leave removes it; whatever anything prints meanwhile is kept at DEBUG level.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


class _RootFilter(logging.Filter):
    """funasr logs through the root logger itself (logging.info(...)) on every call. A filter on
    the root *logger* sees only those direct calls: records of named loggers propagate to the root
    handlers without passing it. So this mutes funasr's chatter and nothing of ours."""

    level = logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


_ROOT_FILTER = _RootFilter()
_lock = threading.Lock()
_depth = 0
_saved: dict[str, Any] = {}


def _enter(level: int) -> None:
    global _depth
    with _lock:
        _depth += 1
        if _depth > 1:
            _ROOT_FILTER.level = max(_ROOT_FILTER.level, level)
            return
        root = logging.getLogger()
        if _ROOT_FILTER not in root.filters:
            root.addFilter(_ROOT_FILTER)
        _ROOT_FILTER.level = level
        _saved.update(handlers=list(root.handlers), level=root.level, stdout=sys.stdout, captured=io.StringIO())
        sys.stdout = _saved["captured"]


def _leave() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth:
            return
        root = logging.getLogger()
        _ROOT_FILTER.level = logging.WARNING
        for handler in root.handlers[:]:
            if handler not in _saved["handlers"]:
                root.removeHandler(handler)
        root.setLevel(_saved["level"])
        sys.stdout = _saved["stdout"]
        printed = _saved["captured"].getvalue().strip()
        _saved.clear()
    if printed:
        log.debug("funasr output: %s", printed)


@contextlib.contextmanager
def quiet(level: int = logging.WARNING) -> Iterator[None]:
    """Mute funasr below `level` while the block runs (on any thread)."""
    _enter(level)
    try:
        yield
    finally:
        _leave()
