"""Read-side views of the queue: what a user sees of their jobs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count

from transcription.models import Job, JobStatus


def queue_summary_for_user(*, user: AbstractBaseUser) -> dict[str, int]:
    """Counts of the user's own jobs by status (every status present)."""
    counts = dict(
        Job.objects.filter(created_by=user).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in JobStatus.values}
