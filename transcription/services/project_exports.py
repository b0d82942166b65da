"""Project exports: a ZIP with every finished transcript of a project in one
format. Small projects are built during the request; larger ones by a
django-q2 task, and the page shows a download link when the ZIP is ready."""

from __future__ import annotations

import logging
import tempfile
import zipfile
from dataclasses import asdict

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.models import AuditAction, Project
from portal.services.audit import audit_record
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import ExportStatus, ProjectExport, Transcript
from transcription.services.export_notices import project_export_email_ready
from transcription.services.exports import EXPORT_FORMATS, ExportError, ExportOptions, transcript_render
from transcription.services.filenames import archive_names, safe_filename
from transcription.services.media import media_delete_files
from transcription.services.wakeups import task_enqueue

log = logging.getLogger(__name__)

# Exports kept per project; older ZIPs are deleted when a new one is asked for.
KEEP_EXPORTS = 10


def inline_limit() -> int:
    """Projects with at most this many transcripts are zipped in the request."""
    return settings.PROJECT_EXPORT_INLINE_MAX


def project_transcripts(*, project: Project) -> QuerySet[Transcript]:
    return (
        Transcript.objects.filter(job_states.q_status(JobStatus.SUCCEEDED, prefix="job__"), job__project=project)
        .select_related("job__media", "job__project")
        .order_by("job__media__original_name", "created_at")
    )


def project_export_filename(*, export: ProjectExport) -> str:
    stamp = timezone.localtime(export.created_at).strftime("%Y-%m-%d")
    # The ".zip" is there so a dot in the project name is not taken for an extension.
    return safe_filename(f"{export.project.name} - {export.format} - {stamp}.zip", "zip", default="export")


def _prune(*, project: Project) -> None:
    old = list(project.exports.order_by("-created_at")[KEEP_EXPORTS:])
    if not old:
        return
    names = [e.file.name for e in old if e.file]
    ProjectExport.objects.filter(pk__in=[e.pk for e in old]).delete()
    transaction.on_commit(lambda: media_delete_files(names=names))


def project_export_request(*, actor: Actor, project: Project, format: str,  # noqa: A002 - matches transcript_export
                           options: ExportOptions | None = None) -> ProjectExport:
    """Ask for a ZIP of the project's transcripts. Built now when small,
    otherwise queued; either way the returned export says where it stands."""
    if format not in EXPORT_FORMATS:
        raise ExportError(_("Unknown export format %(format)s.") % {"format": format})
    options = options or ExportOptions()
    count = project_transcripts(project=project).count()
    if count == 0:
        raise ExportError(_("This project has no finished transcripts to export yet."))
    export = ProjectExport.objects.create(
        project=project, requested_by=actor.user,
        format=format, options=asdict(options),
    )
    audit_record(actor=actor, action=AuditAction.PROJECT_EXPORT, team=project.team, obj=project,
                 detail={"export": str(export.pk), "format": format, "transcripts": count, **asdict(options)})
    _prune(project=project)
    if count <= inline_limit():
        return project_export_build(export_id=export.pk)
    transaction.on_commit(lambda: _enqueue(export))
    return export


def _enqueue(export: ProjectExport) -> None:
    task_enqueue("transcription.tasks.build_project_export", str(export.pk),
                 task_name=f"project-export-{export.pk}", group="export")


def project_export_build(*, export_id: object, background: bool = False) -> ProjectExport:
    """Write the ZIP for a pending export; a failure is recorded on the
    export (shown to the user), never raised to the caller. Built in the
    ``background``, the requester is emailed when it is done."""
    export = ProjectExport.objects.select_related("project").get(pk=export_id)
    if not export.is_pending:
        return export
    try:
        options = ExportOptions(**export.options)
        transcripts = list(project_transcripts(project=export.project))
        names = archive_names([t.job.media.original_name for t in transcripts], export.format)
        with tempfile.TemporaryFile(prefix="export-", dir=settings.SCRATCH_DIR) as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for transcript, name in zip(transcripts, names, strict=True):
                    exported = transcript_render(transcript=transcript, format=export.format, options=options)
                    archive.writestr(name, exported.content)
            spool.seek(0)
            export.file.save(f"{export.project_id}/{export.pk}.zip", File(spool), save=False)
        export.status = ExportStatus.READY
    except Exception:  # noqa: BLE001 - any failure must end up on the export, not leave it pending
        log.exception("project export %s failed", export.pk)
        export.status = ExportStatus.FAILED
        export.error = _("The export could not be built. Try again; if it keeps failing, "
                         "tell your administrator.")
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "status", "error", "finished_at"])
    if background:
        project_export_email_ready(export=export)
    return export
