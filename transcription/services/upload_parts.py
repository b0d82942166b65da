"""Parts of a multipart upload that Django cannot read.

Django's multipart parser cannot read a part whose headers are not UTF-8 (a
file name sent in Latin-1 or GBK, say): a small file is silently dropped, a
large one makes the parser fail on the next part's headers. So the upload
views watch the raw body as it streams through, note each such part's file
name, move the part out of the way, and report it as a rejected file with
the reason, instead of answering as if no file had been sent."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.utils.http import parse_header_parameters

_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)
_NAME = re.compile(rb'(;\s*)name="[^"]*"', re.IGNORECASE)
_MAX_HEADER = 8192
# The field an unreadable part is moved to, so Django parses it (and deletes its temporary file at
# the end of the request) and no view takes it for an upload.
UNREADABLE_FIELD = b"_unreadable_part"


class PartHeaderWatch:
    """A wrapper of the request body that checks each part's header block as
    it streams through. A header that is not UTF-8 is noted (its file name
    decoded as Latin-1, for the message) and rewritten in ASCII under
    UNREADABLE_FIELD: left as it was, Django's parser treats the part as
    headerless data and then fails on the next part's headers with "Request
    max total header size exceeded", which told the user their file name
    was over 1 KB."""

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self.stream = stream
        self.marker = b"\r\n--" + boundary
        self.pending = b"\r\n"  # the first boundary has no CRLF before it; dropped from the output
        self.lead = 2
        self.unreadable: list[str] = []

    def read(self, *args: Any) -> bytes:
        while True:
            data = self.stream.read(*args)
            out = self._take(data, eof=not data)
            if out or not data:
                return out

    def readline(self, *args: Any) -> bytes:
        return self.read(*args)  # only the multipart parser reads this body, by chunks

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _take(self, data: bytes, *, eof: bool) -> bytes:
        """What can be handed on of ``pending + data``: every complete part header checked
        (and rewritten if need be); a header still arriving, or a boundary that may be cut
        off at the end, is kept back for the next read."""
        buf = self.pending + data
        start = 0
        keep = len(buf)
        while (i := buf.find(self.marker, start)) >= 0:
            end = buf.find(b"\r\n\r\n", i + len(self.marker))
            if end < 0:
                if not eof and len(buf) - i <= _MAX_HEADER:
                    keep = i  # the header is still arriving
                break
            header = buf[i + len(self.marker):end]
            try:
                header.decode("utf-8")
            except UnicodeDecodeError:
                rewritten = self._readable(header)
                buf = buf[:i + len(self.marker)] + rewritten + buf[end:]
                end += len(rewritten) - len(header)
            start = end + 4
        if keep == len(buf) and not eof:
            keep = max(start, len(buf) - len(self.marker))  # a boundary may straddle this read
        out, self.pending = buf[:keep], buf[keep:]
        if self.lead and out:
            cut = min(self.lead, len(out))
            out, self.lead = out[cut:], self.lead - cut
        return out

    def _readable(self, header: bytes) -> bytes:
        found = _FILENAME.search(header)
        self.unreadable.append(found.group(1).decode("latin-1") if found else "")
        header = _NAME.sub(lambda m: m.group(1) + b'name="' + UNREADABLE_FIELD + b'"', header, count=1)
        header = _FILENAME.sub(b'filename="unreadable"', header, count=1)
        return header.decode("latin-1").encode("ascii", errors="replace")


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
