"""Authorised media streaming with HTTP Range support (players seek with
Range requests). With S3 storage the browser is sent to a short-lived
presigned URL instead, and S3 answers the Range requests."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import IO

from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from portal.models import AuditAction
from portal.services.audit import audit_record
from transcription.access import get_media_for_user
from transcription.models import MediaFile
from transcription.services.filenames import content_disposition, safe_filename

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Types mimetypes does not know everywhere; the player needs a sensible one.
_TYPES = {
    ".m4a": "audio/mp4", ".aac": "audio/aac", ".flac": "audio/flac", ".opus": "audio/ogg",
    ".oga": "audio/ogg", ".ogg": "audio/ogg", ".amr": "audio/amr", ".wav": "audio/wav",
    ".mkv": "video/x-matroska", ".mov": "video/quicktime", ".mp4": "video/mp4", ".m4v": "video/mp4",
}


class RangeNotSatisfiable(Exception):
    pass


def media_content_type(media: MediaFile) -> str:
    name = media.original_name.lower()
    ext = name[name.rfind("."):] if "." in name else ""
    if ext == ".webm":
        return "video/webm" if media.has_video else "audio/webm"
    if ext == ".mp4" and not media.has_video:
        return "audio/mp4"
    guessed = _TYPES.get(ext) or mimetypes.guess_type(name)[0]
    if guessed and guessed.split("/")[0] in ("audio", "video"):
        return guessed
    return "video/mp4" if media.has_video else "application/octet-stream"


def media_filename(media: MediaFile) -> str:
    """The uploader's file name, made safe, with its own extension."""
    ext = media.original_name.rsplit(".", 1)[-1] if "." in media.original_name else ""
    if not (ext.isascii() and ext.isalnum() and len(ext) <= 5):
        ext = "bin"
    return safe_filename(media.original_name, ext.lower(), default="media")


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


def _is_local(storage: Storage, name: str) -> bool:
    try:
        storage.path(name)
    except NotImplementedError:
        return False
    return True


def _presigned_redirect(storage: Storage, media: MediaFile, disposition: str) -> HttpResponse:
    params = {"ResponseContentType": media_content_type(media), "ResponseContentDisposition": disposition}
    try:
        url = storage.url(media.file.name, parameters=params)  # type: ignore[call-arg]  # django-storages S3
    except TypeError:
        url = storage.url(media.file.name)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def _audit_download(request: HttpRequest, media: MediaFile, download: bool) -> None:
    if request.method == "HEAD":
        return
    audit_record(request=request, action=AuditAction.MEDIA_DOWNLOAD, team=media.project.team, obj=media,
                 detail={"download": download})


@login_required
@require_safe
def media_file(request: HttpRequest, media_id: str) -> HttpResponse:
    media = get_media_for_user(request.user, media_id)
    download = request.GET.get("download") == "1"
    disposition = content_disposition(media_filename(media), attachment=download)
    range_header = request.headers.get("Range", "")
    storage = media.file.storage
    if not _is_local(storage, media.file.name):
        if download or not range_header:
            _audit_download(request, media, download)
        return _presigned_redirect(storage, media, disposition)

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
    if download or byte_range is None:
        _audit_download(request, media, download)
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
