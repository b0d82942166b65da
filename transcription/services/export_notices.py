"""Telling people their project export is ready: an email when a background
build finishes, and a notice on the project and export pages until they
download it."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from portal.actor import Actor
from portal.models import Profile, Project
from transcription.models import ExportStatus, ProjectExport

log = logging.getLogger(__name__)

NOTICE_FOR = timedelta(days=7)


def project_export_email_ready(*, export: ProjectExport) -> bool:
    """Email the requester that a background export is ready (or failed); True if sent."""
    user = export.requested_by
    if user is None or not user.email or export.is_pending:
        return False
    profile = Profile.objects.filter(user=user).first()
    context = {
        "export": export, "user": user, "project": export.project,
        "download_url": f"{settings.SITE_URL}{reverse('project_export_download', args=[export.pk])}",
        "exports_url": f"{settings.SITE_URL}{reverse('project_exports', args=[export.project_id])}",
    }
    try:
        with translation.override((profile.language if profile else "") or settings.LANGUAGE_CODE):
            subject = render_to_string("transcription/email/export_ready_subject.txt", context).strip()
            body = render_to_string("transcription/email/export_ready.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:  # noqa: BLE001 - a mail problem must not fail the export itself
        log.exception("could not email the requester of export %s", export.pk)
        return False
    return True


def project_exports_unseen(*, user: AbstractBaseUser, project: Project) -> QuerySet[ProjectExport]:
    """The user's recent ready exports of the project they have not downloaded yet."""
    if not user.is_authenticated:
        return ProjectExport.objects.none()
    return project.exports.filter(requested_by=user, status=ExportStatus.READY, downloaded_at__isnull=True,
                                  finished_at__gte=timezone.now() - NOTICE_FOR).order_by("-finished_at")


def project_export_downloaded(*, actor: Actor, export: ProjectExport) -> None:
    """The requester fetched it: the notice has done its job."""
    if export.downloaded_at is None and actor.user is not None and export.requested_by_id == actor.user.pk:
        export.downloaded_at = timezone.now()
        export.save(update_fields=["downloaded_at"])
