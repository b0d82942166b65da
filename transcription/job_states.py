"""The job state machine (DESIGN §4), in one place.

Statuses and the sets of them that mean something (active, finished,
retryable, cancellable), what "stale" means, the worker's stages and an
attempt's outcomes with their labels, and every transition as a named
conditional UPDATE with its one set of fields. Services, the ops page, the
admin, the API and templates ask this module; nothing else compares status
values. It imports no models, so models.py can build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Where an upload marked urgent starts: ahead of every normal job, below what staff raise further.
URGENT_PRIORITY = 10

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)
CANCELLABLE = ACTIVE


class Stage(models.TextChoices):
    """What a running job is doing, as the worker reports it."""

    STARTING = "starting", _("Starting")
    PREPARING = "preparing", _("Fetching the file")
    DECODING = "decoding", _("Decoding audio")
    LOADING = "loading model", _("Loading the model")
    WAITING = "waiting", _("Ready, waiting for the model")
    TRANSCRIBING = "transcribing", _("Transcribing")
    SAVING = "saving", _("Saving")


def default_max_attempts() -> int:
    """A new job's attempts: JOB_MAX_ATTEMPTS (the model's default, so every way a job is made agrees)."""
    return settings.JOB_MAX_ATTEMPTS


class Outcome(models.TextChoices):
    """How one attempt (JobAttempt) ended."""

    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REQUEUED = "requeued", _("Failed, queued again")
    CANCELLED = "cancelled", _("Cancelled")
    LOST = "lost", _("Worker stopped responding")
    INTERRUPTED = "interrupted", _("Worker was stopped, queued again")


def stage_label(stage: str) -> str:
    return str(Stage(stage).label) if stage in Stage.values else stage


def outcome_label(outcome: str) -> str:
    return str(Outcome(outcome).label) if outcome in Outcome.values else outcome


# --- predicates on one job -------------------------------------------------------------------------

class _JobLike(Protocol):
    status: str
    cancel_requested: bool


def is_queued(job: _JobLike) -> bool:
    return job.status == JobStatus.QUEUED


def is_running(job: _JobLike) -> bool:
    return job.status == JobStatus.RUNNING


def is_succeeded(job: _JobLike) -> bool:
    return job.status == JobStatus.SUCCEEDED


def is_failed(job: _JobLike) -> bool:
    return job.status == JobStatus.FAILED


def is_active(job: _JobLike) -> bool:
    return job.status in ACTIVE


def is_finished(job: _JobLike) -> bool:
    return job.status in FINISHED


def is_stopping(job: _JobLike) -> bool:
    """Running, and the user asked it to stop: the worker stops at the next segment."""
    return is_running(job) and job.cancel_requested


def split_active(rows: list[tuple[Any, str]]) -> tuple[list[Any], list[Any]]:
    """(pk, status) rows of active jobs → (queued pks, running pks)."""
    return ([pk for pk, status in rows if status == JobStatus.QUEUED],
            [pk for pk, status in rows if status == JobStatus.RUNNING])


def has_transcript(job: Any) -> bool:
    try:
        return job.transcript is not None
    except ObjectDoesNotExist:
        return False


def can_retry(job: _JobLike) -> bool:
    """Failed or cancelled, and no transcript (a job never ends with two)."""
    return job.status in RETRYABLE and not has_transcript(job)


def is_not_set_up(job: Any) -> bool:
    """Failed because the deployment cannot load its models (not because of the file)."""
    return job.status == JobStatus.FAILED and bool(getattr(job, "not_set_up", False))


def can_retry_as(job: Any, *, staff: bool) -> bool:
    """What a person may retry. A job that failed because the server is not set up is requeued by
    staff once they fixed it; a member's Retry would only fail again."""
    return can_retry(job) and (staff or not is_not_set_up(job))


NOT_SET_UP_MESSAGE = _("Speech recognition is not set up yet on this server; an administrator can see why.")


def can_cancel(job: _JobLike) -> bool:
    return job.status in CANCELLABLE and not job.cancel_requested


# --- the same rules as filters ---------------------------------------------------------------------

def q_status(*statuses: str, prefix: str = "") -> Q:
    return Q(**{f"{prefix}status__in": list(statuses)})


def q_active(prefix: str = "") -> Q:
    return q_status(*ACTIVE, prefix=prefix)


def q_finished(prefix: str = "") -> Q:
    return q_status(*FINISHED, prefix=prefix)


def q_retryable(*, staff: bool = True) -> Q:
    q = q_status(*RETRYABLE) & Q(transcript__isnull=True)
    return q if staff else q & Q(not_set_up=False)


def q_not_set_up() -> Q:
    return q_status(JobStatus.FAILED) & Q(not_set_up=True)


def stale_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.JOB_STALE_SECONDS)


def q_stale(now: datetime) -> Q:
    """Running, and no heartbeat for JOB_STALE_SECONDS. A job that has not
    beaten yet is judged by when it started."""
    cutoff = stale_cutoff(now)
    return Q(status=JobStatus.RUNNING) & (
        Q(heartbeat_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        | Q(heartbeat_at__isnull=True, started_at__isnull=True)
    )


def is_stale(job: Any, now: datetime) -> bool:
    last = job.heartbeat_at or job.started_at
    return is_running(job) and (last is None or last < stale_cutoff(now))


# --- what ends an attempt ---------------------------------------------------------------------------

class Then(StrEnum):
    """Where a job goes when an attempt ends without a result."""

    REQUEUED = "requeued"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Ending:
    """Where a job goes when an attempt ends without a result, and what the attempt log records.
    ``charged``: the attempt counts against max_attempts; ``alone``: until it ends, the job runs in a
    batch of its own."""

    then: Then
    outcome: Outcome
    charged: bool = True
    alone: bool = False


def attempt_ending(*, lost: bool, attempts: int, max_attempts: int, run_alone: bool, cancel_requested: bool,
                   transient: bool = False) -> Ending:
    """The one rule for an attempt that ends without a result, used by the worker (job_fail, and its
    hand-back after an error around a batch) and the reaper alike.

    - A cancel the user asked for is honoured (CANCELLED), whoever ends the attempt.
    - ``lost``: the worker died, stopped responding, or failed around the batch rather than on one
      job. Nobody can tell which of the jobs it held was to blame, so the attempt counts only for a
      job that was running alone (``run_alone``); the others go back to the queue uncharged, each to
      run alone next. A job that is charged goes back while attempts remain, else fails (LOST).
    - Otherwise the job's own error: a transient one requeues it while attempts remain (REQUEUED),
      else, or when permanent, it fails (FAILED).
    """
    if cancel_requested:
        return Ending(Then.CANCELLED, Outcome.CANCELLED)
    if lost:
        if not run_alone:
            return Ending(Then.REQUEUED, Outcome.LOST, charged=False, alone=True)
        return Ending(Then.REQUEUED if attempts < max_attempts else Then.FAILED, Outcome.LOST, alone=True)
    if transient and attempts < max_attempts:
        return Ending(Then.REQUEUED, Outcome.REQUEUED, alone=run_alone)
    return Ending(Then.FAILED, Outcome.FAILED)


# --- transitions: each a conditional UPDATE that only moves rows in its source states --------------
# They return how many rows moved: of two parties racing for a job, exactly one sees 1.

def _move(qs: QuerySet, source: tuple[str, ...], fields: dict[str, Any]) -> int:
    return qs.filter(status__in=list(source)).update(**fields)


def claim(qs: QuerySet, *, worker: str, now: datetime) -> int:
    """queued → running, for this worker, as a new attempt."""
    return _move(qs, (JobStatus.QUEUED,), {
        "status": JobStatus.RUNNING, "worker": worker, "attempts": F("attempts") + 1, "started_at": now,
        "heartbeat_at": now, "finished_at": None, "progress": 0, "stage": Stage.STARTING, "error": "",
        "traceback": "", "cancel_requested": False, "not_set_up": False,
    })


def succeed(qs: QuerySet, *, now: datetime, **result: Any) -> int:
    """running → succeeded; ``result`` carries the timing and model fields."""
    return _move(qs, (JobStatus.RUNNING,), {
        "status": JobStatus.SUCCEEDED, "progress": 100, "stage": "", "finished_at": now, "heartbeat_at": now,
        "error": "", "traceback": "", **result,
    })


def fail(qs: QuerySet, *, now: datetime, error: str, traceback: str = "", not_set_up: bool = False) -> int:
    """running → failed, for good (``not_set_up``: because the deployment cannot load its models)."""
    return _move(qs, (JobStatus.RUNNING,), {
        "status": JobStatus.FAILED, "finished_at": now, "stage": "", "error": error, "traceback": traceback,
        "not_set_up": not_set_up,
    })


def requeue(qs: QuerySet, *, error: str, traceback: str = "", ending: Ending | None = None) -> int:
    """running → queued (a lost attempt or a transient error). queued_at is kept:
    the job keeps its place by age. An ``ending`` that is not charged gives the
    attempt back; one that says ``alone`` marks the job to run alone."""
    extra: dict[str, Any] = {}
    if ending is not None and not ending.charged:
        extra["max_attempts"] = F("max_attempts") + 1
    if ending is not None and ending.alone:
        extra["run_alone"] = True
    return _move(qs, (JobStatus.RUNNING,), {
        "status": JobStatus.QUEUED, "worker": "", "heartbeat_at": None, "started_at": None, "progress": 0,
        "stage": "", "error": error, "traceback": traceback, **extra,
    })


def hand_back(qs: QuerySet) -> int:
    """running → queued, because its worker is shutting down: the job keeps its
    place by age and the interrupted attempt does not count against it."""
    return _move(qs, (JobStatus.RUNNING,), {
        "status": JobStatus.QUEUED, "worker": "", "heartbeat_at": None, "started_at": None, "progress": 0,
        "stage": "", "error": "", "traceback": "", "max_attempts": F("max_attempts") + 1,
    })


def stop(qs: QuerySet, *, now: datetime) -> int:
    """running → cancelled: the worker (or the reaper) honoured a cancel request."""
    return _move(qs, (JobStatus.RUNNING,), {"status": JobStatus.CANCELLED, "finished_at": now, "stage": ""})


def cancel_queued(qs: QuerySet, *, now: datetime) -> int:
    """queued → cancelled, at once."""
    return _move(qs, (JobStatus.QUEUED,), {
        "status": JobStatus.CANCELLED, "finished_at": now, "cancel_requested": True, "stage": "",
    })


def request_stop(qs: QuerySet) -> int:
    """A running job is asked to stop at its next segment boundary (status unchanged)."""
    return _move(qs, (JobStatus.RUNNING,), {"cancel_requested": True})


def retry(qs: QuerySet, *, now: datetime) -> int:
    """failed or cancelled (without a transcript) → queued, at the back of the
    queue. Attempts keep counting (JobAttempt numbers stay unique); a retry
    grants a fresh set of them."""
    return _move(qs.filter(transcript__isnull=True), RETRYABLE, {
        "status": JobStatus.QUEUED, "progress": 0, "stage": "", "error": "", "traceback": "", "not_set_up": False,
        "cancel_requested": False, "worker": "", "heartbeat_at": None, "started_at": None, "finished_at": None,
        "queued_at": now, "max_attempts": F("attempts") + settings.JOB_MAX_ATTEMPTS, "run_alone": False,
    })
