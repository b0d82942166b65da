"""Housekeeping for jobs whose worker died: the reaper requeues a running
job whose heartbeat went stale (or fails it once its attempts are used up),
and a lost wake-up is made up for when jobs wait while nothing runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from transcription import job_states
from transcription.job_states import JobStatus, Outcome
from transcription.models import Job
from transcription.services.job_lifecycle import after_finish, attempt_end
from transcription.services.wakeups import job_enqueue_wakeup, wakeups_send

log = logging.getLogger(__name__)


@dataclass
class ReapResult:
    requeued: int = 0
    failed: int = 0
    cancelled: int = 0


def jobs_reap_stale(*, now: datetime | None = None) -> ReapResult:
    """Requeue running jobs whose worker stopped sending heartbeats, or fail
    them once they have used all their attempts."""
    now = now or timezone.now()
    stale = Job.objects.filter(job_states.q_stale(now))
    result = ReapResult()
    for job in stale.only("pk", "worker", "attempts", "max_attempts", "heartbeat_at", "cancel_requested"):
        lost = _("The worker stopped responding (attempt %(n)d of %(max)d).") % {
            "n": job.attempts, "max": job.max_attempts}
        with transaction.atomic():
            # Unchanged heartbeat in the WHERE: a worker that beat meanwhile keeps its job.
            still_stale = Job.objects.filter(pk=job.pk, worker=job.worker, attempts=job.attempts,
                                             heartbeat_at=job.heartbeat_at)
            if job.cancel_requested:
                done = job_states.stop(still_stale, now=now)
                counter = "cancelled"
            elif job.attempts < job.max_attempts:
                done = job_states.requeue(still_stale, error=lost + " " + _("The job is back in the queue."))
                counter = "requeued"
            else:
                done = job_states.fail(still_stale, now=now, error=_(
                    "The worker stopped responding %(n)d times; giving up. "
                    "The file may be too long or too large for the worker's memory.") % {"n": job.attempts})
                counter = "failed"
            if not done:
                continue
            attempt_end(job, Outcome.LOST, lost, now=now)
            setattr(result, counter, getattr(result, counter) + 1)
            if counter == "requeued":
                job_enqueue_wakeup()
            else:
                after_finish(job.pk)
        log.warning("reaped stale job %s from %s: %s", job.pk, job.worker, counter)
    return result


def jobs_kick_idle_queue(*, now: datetime | None = None) -> bool:
    """If jobs wait while nothing runs, a wake-up was lost (broker flushed or
    down at enqueue time): send one more. Extra wake-ups are harmless."""
    now = now or timezone.now()
    if Job.objects.filter(job_states.q_status(JobStatus.RUNNING)).exists():
        return False
    waiting = Job.objects.filter(job_states.q_status(JobStatus.QUEUED), queued_at__lt=job_states.stale_cutoff(now))
    if not waiting.exists():
        return False
    wakeups_send(1)
    return True
