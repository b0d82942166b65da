"""The job lifecycle (DESIGN §4): enqueue, claim, heartbeat, finish, fail,
reap, cancel, retry.

The Job row is the queue of record. Every state change is a conditional
UPDATE (``WHERE status=… AND worker=… AND attempts=…``), so of two parties
racing for a job (two workers, a worker and the reaper, a worker and a user
cancelling) exactly one wins and the other sees rowcount 0. django-q2 tasks
only wake workers up: a wake-up that claims nothing simply returns.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Project
from transcription.models import Job, JobAttempt, JobStatus, Segment, Transcript

if TYPE_CHECKING:
    from transcription.asr.engine import TranscriptionResult

log = logging.getLogger(__name__)

RUN_TASK = "transcription.tasks.run_next_job"
PRIORITY_LIMIT = 1000


class JobStateError(Exception):
    """The job is not in a state that allows this (HTTP 409); str(e) is for the user."""


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUEUED = "requeued"
    CANCELLED = "cancelled"
    LOST = "lost"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- enqueue -------------------------------------------------------------------------------------

def asr_cluster() -> str:
    """The django-q2 queue ASR workers listen on (the cluster's name)."""
    return str(settings.Q_CLUSTER.get("cluster_name") or settings.Q_CLUSTER["name"])


def _send_wakeups(count: int) -> None:
    from django_q.tasks import async_task

    for _n in range(count):
        async_task(RUN_TASK, cluster=asr_cluster(), task_name="asr-wakeup", group="asr")


def job_enqueue_wakeup(*, count: int = 1) -> None:
    """Wake ``count`` workers once the current transaction commits. A broker
    outage is logged, not raised: the reaper's idle check enqueues again."""
    if count > 0:
        transaction.on_commit(lambda: _send_wakeups(count), robust=True)


# --- claim ---------------------------------------------------------------------------------------

def claim_order(queryset: QuerySet[Job] | None = None) -> QuerySet[Job]:
    """Queued jobs in the order workers take them: priority, then the user
    with the fewest running jobs (fair share), then age."""
    running = (
        Job.objects.filter(status=JobStatus.RUNNING, created_by=OuterRef("created_by"))
        .order_by()
        .values("created_by")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = queryset if queryset is not None else Job.objects.all()
    return (
        qs.filter(status=JobStatus.QUEUED)
        .annotate(owner_running=Coalesce(Subquery(running, output_field=IntegerField()), Value(0)))
        .order_by("-priority", "owner_running", "queued_at", "created_at", "pk")
    )


def job_claim(*, worker: str) -> Job | None:
    """Atomically move the next queued job to running for ``worker``.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent workers each lock
    a different candidate. SQLite: the IMMEDIATE transaction holds the write
    lock from BEGIN, so claims are serialised. Either way the conditional
    UPDATE is what decides who won. Returns None only when nothing is queued:
    a candidate locked by a concurrent claimer is retried, so a wake-up is
    never spent while a job waits.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    for attempt in range(CLAIM_TRIES):
        job = _claim_once(worker=worker, skip_locked=skip_locked)
        if job is not None or not Job.objects.filter(status=JobStatus.QUEUED).exists():
            return job
        time.sleep(0.02 * (attempt + 1))
    return None


CLAIM_TRIES = 10


def _claim_once(*, worker: str, skip_locked: bool) -> Job | None:
    now = timezone.now()
    with transaction.atomic():
        # With SKIP LOCKED, lock exactly one row: locking more would hide jobs from other workers.
        candidates = claim_order().select_for_update(skip_locked=True)[:1] if skip_locked else claim_order()[:3]
        for pk in list(candidates.values_list("pk", flat=True)):
            won = Job.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
                status=JobStatus.RUNNING, worker=worker, attempts=F("attempts") + 1,
                started_at=now, heartbeat_at=now, finished_at=None, progress=0,
                stage="starting", error="", traceback="", cancel_requested=False,
            )
            if won:
                job = Job.objects.select_related("media", "project", "created_by").get(pk=pk)
                JobAttempt.objects.create(job=job, number=job.attempts, worker=worker, started_at=now)
                return job
    return None


# --- while running -------------------------------------------------------------------------------

class Beat(StrEnum):
    OK = "ok"
    CANCEL = "cancel"  # the user asked to cancel: stop at the next segment boundary
    LOST = "lost"  # the job is no longer ours (reaped, or cancelled while queued again)


def _owned(job_id: Any, worker: str, attempt: int) -> QuerySet[Job]:
    return Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker=worker, attempts=attempt)


def job_heartbeat(*, job_id: Any, worker: str, attempt: int, progress: float | None = None,
                  stage: str | None = None) -> Beat:
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress is not None:
        fields["progress"] = max(0.0, min(100.0, round(progress, 1)))
    if stage is not None:
        fields["stage"] = stage[:32]
    if not _owned(job_id, worker, attempt).update(**fields):
        return Beat.LOST
    cancel = Job.objects.filter(pk=job_id).values_list("cancel_requested", flat=True).first()
    return Beat.CANCEL if cancel else Beat.OK


def _lock_owned(job_id: Any, worker: str, attempt: int) -> Job | None:
    """The job row, locked, if this worker's attempt still owns it."""
    return _owned(job_id, worker, attempt).select_for_update().select_related("media", "project").first()


def _end_attempt(job: Job, outcome: Outcome, error: str = "", *, now: datetime) -> None:
    JobAttempt.objects.filter(job=job, number=job.attempts).update(
        ended_at=now, outcome=outcome.value, error=error[:2000]
    )


def _after_finish(job_id: Any) -> None:
    from transcription.services.notifications import job_notify_finished

    transaction.on_commit(lambda: job_notify_finished(job_id=job_id), robust=True)


def job_finish(*, job_id: Any, worker: str, attempt: int, result: TranscriptionResult) -> Outcome | None:
    """Write transcript, segments and the final state in one transaction.

    Returns None (and writes nothing) if this attempt no longer owns the job,
    e.g. the reaper gave it to another worker while this one was stalled.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _lock_owned(job_id, worker, attempt)
        if job is None:
            log.warning("job %s: attempt %s of %s finished after losing the job; result discarded",
                        job_id, attempt, worker)
            return None
        if job.cancel_requested:
            _mark_cancelled(job, now=now)
            outcome = Outcome.CANCELLED
        else:
            transcript = Transcript.objects.create(
                job=job, text=result.text, audio_seconds=result.audio_seconds,
            )
            Segment.objects.bulk_create(
                [Segment(transcript=transcript, index=s.index, start=s.start, end=s.end,
                         text=s.text, speaker=s.speaker or "") for s in result.segments],
                batch_size=500,
            )
            models_used = dict(result.models)
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.SUCCEEDED, progress=100, stage="", finished_at=now, heartbeat_at=now,
                error="", traceback="", audio_seconds=result.audio_seconds,
                processing_seconds=result.processing_seconds,
                engine=str(models_used.get("asr", ""))[:64], models_used=models_used,
            )
            _end_attempt(job, Outcome.SUCCEEDED, now=now)
            outcome = Outcome.SUCCEEDED
        _after_finish(job.pk)
    return outcome


def _mark_cancelled(job: Job, *, now: datetime) -> None:
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.CANCELLED, finished_at=now, stage="",
    )
    _end_attempt(job, Outcome.CANCELLED, now=now)


def job_cancelled_by_worker(*, job_id: Any, worker: str, attempt: int) -> Outcome | None:
    """The engine stopped at a segment boundary because cancel was requested."""
    now = timezone.now()
    with transaction.atomic():
        job = _lock_owned(job_id, worker, attempt)
        if job is None:
            return None
        _mark_cancelled(job, now=now)
        _after_finish(job.pk)
    return Outcome.CANCELLED


def job_fail(*, job_id: Any, worker: str, attempt: int, error: str, traceback: str = "",
             transient: bool = False) -> Outcome | None:
    """A permanent error fails the job at once; a transient one puts it back
    in the queue while attempts remain."""
    now = timezone.now()
    with transaction.atomic():
        job = _lock_owned(job_id, worker, attempt)
        if job is None:
            return None
        if job.cancel_requested:
            _mark_cancelled(job, now=now)
            outcome = Outcome.CANCELLED
        elif transient and job.attempts < job.max_attempts:
            _requeue(job, error=_("Attempt %(n)d of %(max)d failed: %(error)s The job is back in the queue.") % {
                "n": job.attempts, "max": job.max_attempts, "error": error}, traceback=traceback)
            _end_attempt(job, Outcome.REQUEUED, error, now=now)
            job_enqueue_wakeup()
            return Outcome.REQUEUED
        else:
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.FAILED, finished_at=now, stage="", error=error, traceback=traceback,
            )
            _end_attempt(job, Outcome.FAILED, error, now=now)
            outcome = Outcome.FAILED
        _after_finish(job.pk)
    return outcome


def _requeue(job: Job, *, error: str, traceback: str = "") -> None:
    # queued_at is kept: a job that was interrupted keeps its place by age.
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.QUEUED, worker="", heartbeat_at=None, started_at=None, progress=0, stage="",
        error=error, traceback=traceback,
    )


# --- reaper --------------------------------------------------------------------------------------

@dataclass
class ReapResult:
    requeued: int = 0
    failed: int = 0
    cancelled: int = 0


def jobs_reap_stale(*, now: datetime | None = None) -> ReapResult:
    """Requeue running jobs whose worker stopped sending heartbeats, or fail
    them once they have used all their attempts."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    stale = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    result = ReapResult()
    for job in stale.only("pk", "worker", "attempts", "max_attempts", "heartbeat_at", "cancel_requested"):
        lost = _("The worker stopped responding (attempt %(n)d of %(max)d).") % {
            "n": job.attempts, "max": job.max_attempts}
        with transaction.atomic():
            # Unchanged heartbeat in the WHERE: a worker that beat meanwhile keeps its job.
            still_stale = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, worker=job.worker,
                                             attempts=job.attempts, heartbeat_at=job.heartbeat_at)
            if job.cancel_requested:
                done = still_stale.update(status=JobStatus.CANCELLED, finished_at=now, stage="")
                counter = "cancelled"
            elif job.attempts < job.max_attempts:
                done = still_stale.update(
                    status=JobStatus.QUEUED, worker="", heartbeat_at=None, started_at=None, progress=0,
                    stage="", error=lost + " " + _("The job is back in the queue."),
                )
                counter = "requeued"
            else:
                done = still_stale.update(
                    status=JobStatus.FAILED, finished_at=now, stage="",
                    error=_("The worker stopped responding %(n)d times; giving up. "
                            "The file may be too long or too large for the worker's memory.") % {"n": job.attempts},
                )
                counter = "failed"
            if not done:
                continue
            _end_attempt(job, Outcome.LOST, lost, now=now)
            setattr(result, counter, getattr(result, counter) + 1)
            if counter == "requeued":
                job_enqueue_wakeup()
            else:
                _after_finish(job.pk)
        log.warning("reaped stale job %s from %s: %s", job.pk, job.worker, counter)
    return result


def jobs_kick_idle_queue(*, now: datetime | None = None) -> bool:
    """If jobs wait while nothing runs, a wake-up was lost (broker flushed or
    down at enqueue time): send one more. Extra wake-ups are harmless."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    if Job.objects.filter(status=JobStatus.RUNNING).exists():
        return False
    if not Job.objects.filter(status=JobStatus.QUEUED, queued_at__lt=cutoff).exists():
        return False
    _send_wakeups(1)
    return True


# --- user actions --------------------------------------------------------------------------------

def job_cancel(*, job: Job, user: AbstractBaseUser) -> Job:
    """A queued job is cancelled at once; a running one stops at the next
    segment boundary (the worker sees cancel_requested on its heartbeat)."""
    now = timezone.now()
    with transaction.atomic():
        if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished_at=now, cancel_requested=True, stage="",
        ):
            from transcription.services.notifications import job_notify_finished

            transaction.on_commit(lambda: job_notify_finished(job_id=job.pk, deliver_now=False), robust=True)
        elif not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True):
            raise JobStateError(_("This job has already finished."))
    job.refresh_from_db()
    return job


_RETRY_RESET: dict[str, Any] = {
    "status": JobStatus.QUEUED, "progress": 0, "stage": "", "error": "", "traceback": "",
    "cancel_requested": False, "worker": "", "heartbeat_at": None, "started_at": None,
    "finished_at": None,
}


def retry_fields(now: datetime) -> dict[str, Any]:
    # attempts keep counting (JobAttempt numbers stay unique): a retry grants a fresh set.
    return {**_RETRY_RESET, "queued_at": now, "max_attempts": F("attempts") + settings.JOB_MAX_ATTEMPTS}


def job_retry(*, job: Job, user: AbstractBaseUser) -> Job:
    """Failed or cancelled → queued again, keeping the attempt history."""
    with transaction.atomic():
        retried = Job.objects.filter(
            pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED], transcript__isnull=True,
        ).update(**retry_fields(timezone.now()))
        if not retried:
            raise JobStateError(_("Only failed or cancelled jobs can be retried."))
        job_enqueue_wakeup()
    job.refresh_from_db()
    return job


def jobs_retry_failed(*, project: Project, user: AbstractBaseUser) -> int:
    """Retry every failed job of the project; returns how many."""
    from transcription.services.job_bulk import jobs_retry

    return jobs_retry(queryset=project.jobs.filter(status=JobStatus.FAILED), user=user)


def job_set_priority(*, jobs_qs: QuerySet[Job], delta: int) -> int:
    """Raise (or lower) the priority of the queued jobs among ``jobs_qs``."""
    return jobs_qs.filter(status=JobStatus.QUEUED).update(
        priority=Least(Greatest(F("priority") + delta, Value(-PRIORITY_LIMIT)), Value(PRIORITY_LIMIT))
    )


# --- schedules -----------------------------------------------------------------------------------

# Periodic housekeeping run by the cluster's scheduler. Created idempotently
# after every migrate (see TranscriptionConfig.ready).
SCHEDULES: dict[str, tuple[str, int]] = {
    "Reap stale jobs": ("transcription.tasks.reap_stale_jobs", 1),
    "Send due webhook deliveries": ("transcription.tasks.send_due_webhooks", 1),
}


def schedules_ensure(**_kwargs: Any) -> None:
    from django_q.models import Schedule

    if Schedule._meta.db_table not in connection.introspection.table_names():
        return  # django_q not migrated yet; its own migrate run sends post_migrate again
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1,
                      "cluster": asr_cluster()},
            create_defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes,
                             "repeats": -1, "cluster": asr_cluster(), "next_run": timezone.now()},
        )

