"""Job commands over many rows at once (staff actions in the admin).

Same rules as the one-job services in ``jobs.py`` (which rows qualify,
which fields change, wake-ups after commit), but each command is a fixed
number of statements however many jobs are selected: conditional UPDATEs
whose WHERE clause re-checks the status, so a job a worker moved on in the
meantime is simply not counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from transcription.models import FINISHED_STATUSES, Job, JobStatus
from transcription.services.jobs import asr_cluster, job_enqueue_wakeup, retry_fields

log = logging.getLogger(__name__)

RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
CANCELLABLE = (JobStatus.QUEUED, JobStatus.RUNNING)
NOTIFY_TASK = "transcription.tasks.notify_jobs_finished"


def _scope(queryset: QuerySet[Job]) -> QuerySet[Job]:
    """The selected jobs as a plain pk subquery: the admin's queryset may
    carry joins, ordering or select_related that an UPDATE must not."""
    return Job.objects.filter(pk__in=queryset.order_by().values("pk"))


def jobs_retry(*, queryset: QuerySet[Job], user: AbstractBaseUser) -> int:
    """Failed or cancelled jobs (without a transcript) go back to the queue
    with a fresh set of attempts; returns how many. One wake-up per job."""
    with transaction.atomic():
        count = _scope(queryset).filter(status__in=RETRYABLE, transcript__isnull=True).update(
            **retry_fields(timezone.now())
        )
        job_enqueue_wakeup(count=count)
    return count


@dataclass(frozen=True)
class CancelResult:
    cancelled: int  # were queued: cancelled now
    stopping: int  # were running: the worker stops at the next segment boundary

    @property
    def total(self) -> int:
        return self.cancelled + self.stopping


def jobs_cancel(*, queryset: QuerySet[Job], user: AbstractBaseUser) -> CancelResult:
    """Queued jobs are cancelled at once, running ones are asked to stop
    (their worker notifies when it does); finished jobs are left alone."""
    now = timezone.now()
    with transaction.atomic():
        scope = _scope(queryset)
        # Locked so the ids notified are exactly the rows cancelled below
        # (PostgreSQL; SQLite already holds the write lock from BEGIN).
        queued_ids = list(scope.filter(status=JobStatus.QUEUED).select_for_update().values_list("pk", flat=True))
        cancelled = Job.objects.filter(pk__in=queued_ids, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished_at=now, cancel_requested=True, stage="",
        )
        stopping = scope.filter(status=JobStatus.RUNNING).update(cancel_requested=True)
        if queued_ids:
            ids = [str(pk) for pk in queued_ids]
            transaction.on_commit(lambda: _enqueue_notify(ids), robust=True)
    return CancelResult(cancelled=cancelled, stopping=stopping)


def _enqueue_notify(job_ids: list[str]) -> None:
    from django_q.tasks import async_task

    async_task(NOTIFY_TASK, job_ids=job_ids, cluster=asr_cluster(), task_name="jobs-notify", group="notify")


def jobs_notify_finished(*, job_ids: list[Any]) -> int:
    """Background task: emails and webhooks for jobs cancelled in bulk, the
    same as a one-job cancel sends, without holding up the staff request."""
    from transcription.services.notifications import job_notify_finished

    done = 0
    for job_id in job_ids:
        try:
            job_notify_finished(job_id=job_id, deliver_now=False)
            done += 1
        except Exception:  # one bad row must not silence the rest
            log.exception("could not notify about job %s", job_id)
    return done


def jobs_mark_reviewed(*, queryset: QuerySet[Job], user: AbstractBaseUser) -> int:
    """Record that staff looked at these finished jobs; returns how many
    were newly marked (already reviewed and unfinished jobs are skipped)."""
    return _scope(queryset).filter(status__in=FINISHED_STATUSES, reviewed_at__isnull=True).update(
        reviewed_at=timezone.now(), reviewed_by=user,
    )
