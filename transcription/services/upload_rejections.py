"""Files an upload did not add: kept (the last few, for a while) so the
project page shows why, also after the person who uploaded has left it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from portal.actor import Actor
from portal.models import Project
from transcription.models import UploadRejection

KEEP = 20  # per project
SHOW_FOR = timedelta(days=7)


def upload_rejections_record(*, actor: Actor, project: Project, rejected: Iterable[tuple[str, str]]) -> int:
    """Keep (file name, reason) pairs of one upload; older ones beyond KEEP go."""
    rows = [UploadRejection(project=project, uploaded_by=actor.user, filename=name[:255], reason=reason)
            for name, reason in rejected]
    if not rows:
        return 0
    UploadRejection.objects.bulk_create(rows)
    stale = list(project.upload_rejections.order_by("-created_at", "-id").values_list("pk", flat=True)[KEEP:])
    if stale:
        UploadRejection.objects.filter(pk__in=stale).delete()
    return len(rows)


def upload_rejections_recent(*, project: Project) -> QuerySet[UploadRejection]:
    return (project.upload_rejections.filter(created_at__gte=timezone.now() - SHOW_FOR)
            .select_related("uploaded_by").order_by("-created_at", "-id"))


def upload_rejections_clear(*, actor: Actor, project: Project) -> int:
    """Dismiss the kept list (anyone who may upload to the project)."""
    deleted, _ = project.upload_rejections.all().delete()
    return deleted
