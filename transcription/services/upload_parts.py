"""Parts of a multipart upload that Django cannot read.

Django's multipart parser silently drops a part whose headers are not UTF-8
(a file name sent in Latin-1 or GBK, say): the file is simply not there. So
the upload views watch the raw body as it streams through, note each such
part's file name, and report it as a rejected file with the reason, instead
of answering as if no file had been sent."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.http import parse_header_parameters

_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)
_MAX_HEADER = 8192


class PartHeaderWatch:
    """A pass-through wrapper of the request body that checks each part's header block."""

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self.stream = stream
        self.marker = b"\r\n--" + boundary
        self.tail = b"\r\n"  # the first boundary has no CRLF before it
        self.unreadable: list[str] = []

    def read(self, *args: Any) -> bytes:
        data = self.stream.read(*args)
        self._scan(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.stream.readline(*args)
        self._scan(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _scan(self, data: bytes) -> None:
        if not data:
            return
        buf = self.tail + data
        start = 0
        while (i := buf.find(self.marker, start)) >= 0:
            end = buf.find(b"\r\n\r\n", i + len(self.marker))
            if end < 0:
                self.tail = buf[i:i + _MAX_HEADER]
                return
            header = buf[i + len(self.marker):end]
            try:
                header.decode("utf-8")
            except UnicodeDecodeError:
                found = _FILENAME.search(header)
                if found:
                    self.unreadable.append(found.group(1).decode("latin-1"))
            start = end + 4
        self.tail = buf[max(start, len(buf) - len(self.marker) - 2):]


def upload_parts_watch(request: HttpRequest) -> None:
    """Call before anything reads the body of a multipart request."""
    _type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    boundary = params.get("boundary")
    if _type.startswith("multipart/") and boundary and hasattr(request, "_stream"):
        watch = PartHeaderWatch(request._stream, boundary.encode("ascii", errors="replace"))
        request._stream = watch
        request._upload_part_watch = watch  # type: ignore[attr-defined]


def upload_parts_unreadable(request: HttpRequest) -> list[str]:
    """File names (decoded as Latin-1, for display) of the parts Django could not read."""
    watch = getattr(request, "_upload_part_watch", None)
    return list(watch.unreadable) if watch is not None else []
