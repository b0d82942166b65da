"""Authorised media streaming with HTTP Range support (players seek with
Range requests). With S3 storage the browser is sent to a short-lived
presigned URL instead, and S3 answers the Range requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from portal.actor import Actor
from transcription.access import get_media_for_user
from transcription.services.filenames import content_disposition
from transcription.services.media import media_accessed, media_content_type, media_filename, media_presigned_url

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``bytes=`` range, clamped to the
    file; None to send the whole file (no header, a unit other than bytes,
    or several ranges, which a server may ignore). RangeNotSatisfiable for
    anything else."""
    header = header.strip()
    if not header.startswith("bytes=") or "," in header:
        return None
    match = _RANGE.match(header)
    if not match or size == 0:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if first == "":
        if last == "" or int(last) == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


def _read(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


@login_required
@require_safe
def media_file(request: HttpRequest, media_id: str) -> HttpResponse:
    media = get_media_for_user(request.user, media_id)
    download = request.GET.get("download") == "1"
    disposition = content_disposition(media_filename(media), attachment=download)
    range_header = request.headers.get("Range", "")
    storage = media.file.storage
    actor = Actor.from_request(request)
    presigned = media_presigned_url(media=media, disposition=disposition)
    if presigned is not None:
        if (download or not range_header) and request.method != "HEAD":
            media_accessed(actor=actor, media=media, download=download)
        response = HttpResponseRedirect(presigned)
        response["Cache-Control"] = "private, no-store"
        return response

    try:
        size = storage.size(media.file.name)
    except OSError:
        return HttpResponse("The media file is missing from storage.", status=410,
                            content_type="text/plain; charset=utf-8")
    etag = f'"{media.pk.hex}-{size}"'
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        range_header = ""  # the file changed since the client's first request
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response

    # Players stream with Range requests as part of viewing the transcript
    # (audited as a view); a whole-file fetch or an explicit download is a download.
    if (download or byte_range is None) and request.method != "HEAD":
        media_accessed(actor=actor, media=media, download=download)
    start, end = byte_range if byte_range else (0, size - 1)
    length = max(0, end - start + 1)
    if request.method == "HEAD" or length == 0:
        response = HttpResponse(status=206 if byte_range else 200)
    else:
        response = StreamingHttpResponse(_read(storage.open(media.file.name, "rb"), start, length),
                                         status=206 if byte_range else 200)
    response["Content-Type"] = media_content_type(media)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(media.created_at.timestamp())
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = disposition
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
