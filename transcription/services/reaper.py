"""Housekeeping for jobs whose worker died: the reaper requeues a running
job whose worker is gone — at once when it was a process of this node
(worker_names.worker_gone), after JOB_STALE_SECONDS without a heartbeat
otherwise (a lost node, a hung process) — or fails it once a job running
alone has crashed its worker too often (job_states.attempt_ending); a lost
wake-up is made up for when jobs wait while nothing runs.

It runs on a timer in every worker process (worker_process), as soon as a
worker process starts, and on a django-q2 schedule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.job_lifecycle import Loss, job_lost
from transcription.services.wakeups import wakeups_send
from transcription.services.worker_names import node_prefix, worker_gone

log = logging.getLogger(__name__)


@dataclass
class ReapResult:
    requeued: int = 0
    failed: int = 0
    cancelled: int = 0


def jobs_reap_stale(*, now: datetime | None = None) -> ReapResult:
    """End the attempts of running jobs whose worker is gone: a process of
    this node that has ended, or any worker whose heartbeat went stale."""
    now = now or timezone.now()
    candidates = Job.objects.filter(job_states.q_stale(now) | (
        job_states.q_status(JobStatus.RUNNING) & Q(worker__startswith=node_prefix())))
    result = ReapResult()
    for job in candidates.select_related("media").only(
            "pk", "status", "worker", "attempts", "max_attempts", "heartbeat_at", "started_at", "cancel_requested",
            "run_alone", "media__duration", "media__size"):
        if job_states.is_stale(job, now):
            why = Loss.SILENT
        elif worker_gone(job.worker):
            why = Loss.GONE
        else:
            continue
        # Unchanged heartbeat in the WHERE: a worker that beat meanwhile keeps its job.
        guard = Job.objects.filter(pk=job.pk, worker=job.worker, attempts=job.attempts, heartbeat_at=job.heartbeat_at)
        ending = job_lost(job=job, guard=guard, why=why, now=now)
        if ending is None:
            continue
        counter = ending.then.value
        setattr(result, counter, getattr(result, counter) + 1)
        log.warning("reaped job %s from %s (%s): %s%s", job.pk, job.worker, why, counter,
                    "" if ending.charged else ", not charged, to run alone")
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
