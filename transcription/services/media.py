"""Stored media files: what they are called and served as, where a browser
fetches them from, recording who did, and removing them."""

from __future__ import annotations

import logging
import mimetypes

from django.core.files.storage import default_storage

from portal.actor import Actor
from portal.models import AuditAction
from portal.services.audit import audit_record
from transcription.models import MediaFile
from transcription.services.filenames import safe_filename

log = logging.getLogger(__name__)

# Types mimetypes does not know everywhere; the player needs a sensible one.
_TYPES = {
    ".m4a": "audio/mp4", ".aac": "audio/aac", ".flac": "audio/flac", ".opus": "audio/ogg",
    ".oga": "audio/ogg", ".ogg": "audio/ogg", ".amr": "audio/amr", ".wav": "audio/wav",
    ".mkv": "video/x-matroska", ".mov": "video/quicktime", ".mp4": "video/mp4", ".m4v": "video/mp4",
}


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


def media_presigned_url(*, media: MediaFile, disposition: str) -> str | None:
    """A short-lived URL on remote storage (S3) that serves the file with
    these headers; None for local storage, which the app streams itself."""
    storage = media.file.storage
    try:
        storage.path(media.file.name)
        return None
    except NotImplementedError:
        pass
    params = {"ResponseContentType": media_content_type(media), "ResponseContentDisposition": disposition}
    try:
        return storage.url(media.file.name, parameters=params)  # type: ignore[call-arg]  # django-storages S3
    except TypeError:
        return storage.url(media.file.name)


def media_accessed(*, actor: Actor, media: MediaFile, download: bool) -> None:
    """Fetching the whole file (or downloading it) is recorded in the team's log."""
    audit_record(actor=actor, action=AuditAction.MEDIA_DOWNLOAD, team=media.project.team, obj=media,
                 detail={"download": download})


def media_delete_files(*, names: list[str]) -> None:
    """Remove stored files; a missing file is not an error."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete stored file %s", name, exc_info=True)
