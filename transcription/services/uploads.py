"""Accepting files: each audio/video file (or media member of a ZIP) becomes
a MediaFile and a queued Job; anything else is rejected with a reason and
affects nothing else.

Files are validated by probing them (transcription.asr.audio.probe), never
by extension or Content-Type, and are never read into memory: Django spools
uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to temporary files, and
``SizeLimitUploadHandler`` stops storing a file once it passes MAX_UPLOAD_MB.
Stored names are generated (MediaFile.file's upload_to); the user's file
name is kept, cleaned, as display text only.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import NotAllowed
from portal.models import AuditAction, Project
from portal.services.audit import audit_record
from transcription import job_states
from transcription.asr.audio import MediaError, probe
from transcription.models import Job, MediaFile
from transcription.services.job_options import upload_options
from transcription.services.media import media_delete_files
from transcription.services.upload_parts import upload_parts_watch
from transcription.services.upload_rejections import upload_rejections_record
from transcription.services.wakeups import job_enqueue_wakeup
from transcription.services.zips import MemberDamaged, ZipRejected, zip_extract, zip_open, zip_plan

NAME_MAX = MediaFile._meta.get_field("original_name").max_length
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Rejection:
    filename: str
    error: str


@dataclass(frozen=True)
class Intake:
    """Who the new jobs are for and how they should run."""

    project: Project
    user: AbstractBaseUser | None
    urgent: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class UploadResult:
    jobs: list[Job] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return _("This file is larger than the limit of %(mb)d MB.") % {"mb": settings.MAX_UPLOAD_MB}


# --- request parsing -----------------------------------------------------------------------------

class OversizeUpload(UploadedFile):
    """Stands in for a file that went past MAX_UPLOAD_MB; holds no data."""

    def __init__(self, name: str, size: int, content_type: str | None) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size)


class SizeLimitUploadHandler(FileUploadHandler):
    """Must come first in request.upload_handlers. Passes chunks on until a
    file exceeds MAX_UPLOAD_MB, then swallows the rest of that file (so the
    temporary file stops growing) and reports it as an OversizeUpload."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = max_upload_bytes()
        self.received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        before = self.received
        self.received += len(raw_data)
        if self.received <= self.limit:
            return raw_data
        if before <= self.limit:
            # The file just went past the limit: the partial copy the next handlers
            # spooled is of no use, so delete it now rather than when the request is freed.
            upload_handlers_release(self.request, after=self)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received > self.limit:
            return OversizeUpload(self.file_name or "", self.received, self.content_type)
        return None


def upload_handlers_install(request: HttpRequest) -> None:
    """Call before touching request.POST/FILES (views doing so must be
    csrf_exempt outside and csrf_protect inside, as Django's docs describe)."""
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    upload_parts_watch(request)


def unreadable_name_message() -> str:
    return _("The file name is not valid UTF-8, so the file could not be read. Rename the file, or send the "
             "name as filename*=UTF-8''… .")


def upload_handlers_release(request: HttpRequest | None, *, after: FileUploadHandler | None = None) -> None:
    """Close (and so delete) the file each upload handler is spooling into, or
    only those of the handlers after ``after``. Django closes the files it
    hands to the view at the end of the request, but not one a handler was
    still writing when it stopped taking data; that one would stay on disk
    until the request object is garbage-collected."""
    handlers = list(getattr(request, "_upload_handlers", None) or [])
    if after is not None:
        handlers = handlers[handlers.index(after) + 1:] if after in handlers else []
    for handler in handlers:
        spool = getattr(handler, "file", None)
        if spool is not None and not isinstance(handler, SizeLimitUploadHandler):
            spool.close()


# --- names ---------------------------------------------------------------------------------------

def display_name(name: str, *, keep_dirs: bool = False) -> str:
    """A user's file name made safe to show: no control characters, no
    directories (unless it is a path inside a ZIP), at most NAME_MAX long."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = _CONTROL.sub("", name)
    if not keep_dirs:
        name = name.rsplit("/", 1)[-1]
    name = "/".join(part.strip() for part in name.split("/") if part.strip())
    if len(name) > NAME_MAX:
        keep = (NAME_MAX - 1) // 2
        name = f"{name[:keep]}…{name[-keep:]}"
    return name or _("untitled")


# --- ingest --------------------------------------------------------------------------------------

def media_ingest(*, intake: Intake, name: str, path: str, content: File | None = None) -> Job:
    """Probe the file at ``path``, store it, and queue a job for it.
    ``content`` (defaults to the file at ``path``) is what gets stored: a
    TemporaryUploadedFile is moved into place rather than copied.
    Raises MediaError if it is not usable media."""
    info = probe(path)
    project, user = intake.project, intake.user
    media = MediaFile(
        project=project, uploaded_by=user, original_name=name, size=0, duration=info.duration,
        codec=(info.codec or "")[:32], container=(info.container or "")[:64], has_video=info.has_video,
    )
    if content is None:
        with open(path, "rb") as fh:
            media.size = File(fh).size
            media.file.save(name, File(fh), save=False)
    else:
        media.size = content.size
        media.file.save(name, content, save=False)
    try:
        with transaction.atomic():
            media.save()
            job = Job.objects.create(
                project=project, media=media, created_by=user, queued_at=timezone.now(),
                max_attempts=settings.JOB_MAX_ATTEMPTS, urgent=intake.urgent, options=dict(intake.options),
                priority=job_states.URGENT_PRIORITY if intake.urgent else 0,
            )
            job_enqueue_wakeup()
    except BaseException:
        media_delete_files(names=[media.file.name])
        raise
    job.media = media
    return job


def _ingest_zip(*, intake: Intake, archive_name: str, path: str, size: int, result: UploadResult) -> None:
    def label(member: str) -> str:
        return f"{archive_name} › {member}"

    try:
        with zip_open(path) as zf:
            members = zip_plan(zf, archive_size=size)
            added = 0
            for member in members:
                if member.problem:
                    result.rejected.append(Rejection(label(member.name), member.problem))
                    continue
                try:
                    with zip_extract(zf, member) as (member_path, _size):
                        result.jobs.append(media_ingest(
                            intake=intake, path=member_path,
                            name=display_name(member.name, keep_dirs=True),
                        ))
                        added += 1
                except MediaError as e:
                    result.rejected.append(Rejection(label(member.name), _(str(e))))
                except MemberDamaged as e:
                    result.rejected.append(Rejection(label(member.name), str(e)))
            if not added:
                result.rejected.append(Rejection(archive_name, _("This ZIP file contains no audio or video files.")))
    except ZipRejected as e:
        result.rejected.append(Rejection(archive_name, str(e)))


def ingest_path(*, intake: Intake, path: str, name: str, result: UploadResult,
                content: File | None = None) -> None:
    """One local file (an upload's temporary file, or a file on the server):
    a ZIP is unpacked, anything else must be media."""
    if zipfile.is_zipfile(path):
        _ingest_zip(intake=intake, archive_name=name, path=path, size=os.path.getsize(path), result=result)
        return
    if _starts_like_a_zip(path):
        result.rejected.append(Rejection(name, _("This ZIP file is damaged and cannot be read.")))
        return
    try:
        result.jobs.append(media_ingest(intake=intake, name=name, path=path, content=content))
    except MediaError as e:
        damaged_zip = name.lower().endswith(".zip")
        # MediaError messages are marked for translation, not translated: do it here, in the request's language.
        result.rejected.append(Rejection(name, _("This ZIP file is damaged and cannot be read.") if damaged_zip
                                         else _(str(e))))


def _starts_like_a_zip(path: str) -> bool:
    """A ZIP's first bytes (a local file header, or an empty archive's end record),
    for archives whose end was cut off: Python finds ZIPs by their end."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


@contextmanager
def _local_path(upload: UploadedFile) -> Iterator[tuple[str, File | None]]:
    """(path, content to store). Small uploads live in memory; write them to
    a temporary file so they can be probed like the rest."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path(), upload
        return
    with tempfile.NamedTemporaryFile(prefix="upload-", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        upload.seek(0)
        shutil.copyfileobj(upload, tmp, 1024 * 1024)
        tmp.flush()
        yield tmp.name, None


def uploads_accept(*, actor: Actor, project: Project, files: Iterable[UploadedFile], urgent: bool = False,
                   preset: str | None = None, speakers: str | None = None,
                   hotwords: str | None = None, unreadable: Iterable[str] = ()) -> UploadResult:
    """Turn uploaded files into jobs. The caller has checked that the actor
    may write to ``project``. ``urgent`` puts them ahead of the fair-share
    order, where the team allows it; preset, speakers and hotwords (comma
    separated, added to the project's) override the project's defaults.
    A bad option is refused (Invalid) before any file is read. ``unreadable``
    names the files of the request that could not be read (upload_parts)."""
    if urgent and not project.team.allow_urgent:
        raise NotAllowed(_("This team does not allow urgent uploads; an owner or admin can turn them on."))
    options = upload_options(project=project, preset=preset, speakers=speakers, hotwords=hotwords)
    intake = Intake(project=project, user=actor.user, urgent=urgent, options=options)
    result = UploadResult(rejected=[Rejection(display_name(name), unreadable_name_message()) for name in unreadable])
    for upload in files:
        name = display_name(upload.name or "")
        try:
            if isinstance(upload, OversizeUpload) or (upload.size or 0) > max_upload_bytes():
                result.rejected.append(Rejection(name, too_large_message()))
                continue
            with _local_path(upload) as (path, content):
                ingest_path(intake=intake, path=path, name=name, result=result, content=content)
        finally:
            upload.close()
    return _recorded(actor=actor, project=project, result=result, urgent=urgent)


def paths_accept(*, actor: Actor, project: Project, paths: Iterable[tuple[str, str]]) -> UploadResult:
    """Files already on this server, as (path, name shown): `manage.py import`. The same checks,
    rejection record and audit record as an upload, with the project's own options."""
    intake = Intake(project=project, user=actor.user, urgent=False, options=upload_options(project=project))
    result = UploadResult()
    for path, name in paths:
        ingest_path(intake=intake, path=path, name=name, result=result)
    return _recorded(actor=actor, project=project, result=result, urgent=False)


def _recorded(*, actor: Actor, project: Project, result: UploadResult, urgent: bool) -> UploadResult:
    upload_rejections_record(actor=actor, project=project, rejected=[(r.filename, r.error) for r in result.rejected])
    if result.jobs:  # one record per upload, naming its files
        audit_record(actor=actor, action=AuditAction.MEDIA_UPLOAD, team=project.team, obj=project,
                     detail={"files": [job.media.original_name for job in result.jobs][:50], "jobs": len(result.jobs),
                             **({"urgent": True} if urgent else {})})
    return result
