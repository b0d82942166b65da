"""A claimed job on its worker: heartbeats, and the one write that ends each
attempt (finished, failed, cancelled at a segment boundary, or handed back).

Every write is guarded by ownership (``status=running, worker, attempts``):
an attempt that lost its job (reaped while stalled, say) changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from transcription import job_states
from transcription.job_states import JobStatus, Outcome, Then
from transcription.models import Job, JobAttempt, Segment, SpeakerEmbeddings, Transcript
from transcription.services.itn import segment_digits
from transcription.services.job_options import job_speakers
from transcription.services.notifications import job_notify_finished
from transcription.services.wakeups import job_enqueue_wakeup
from transcription.text import join_texts

if TYPE_CHECKING:
    from transcription.asr.engine import TranscriptionResult

log = logging.getLogger(__name__)


class Beat(StrEnum):
    OK = "ok"
    CANCEL = "cancel"  # the user asked to cancel: stop at the next segment boundary
    LOST = "lost"  # the job is no longer ours (reaped, or cancelled while queued again)


def _owned(job_id: Any, worker: str, attempt: int) -> QuerySet[Job]:
    return Job.objects.filter(job_states.q_status(JobStatus.RUNNING), pk=job_id, worker=worker, attempts=attempt)


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


def attempt_end(job: Job, outcome: Outcome, error: str = "", *, now: datetime) -> None:
    JobAttempt.objects.filter(job=job, number=job.attempts).update(
        ended_at=now, outcome=outcome.value, error=error[:2000]
    )


def after_finish(job_id: Any) -> None:
    """Email and webhooks (queued for the outgoing cluster) once the final state is committed."""
    transaction.on_commit(lambda: job_notify_finished(job_id=job_id), robust=True)


def _stop(job: Job, *, now: datetime) -> Outcome:
    job_states.stop(Job.objects.filter(pk=job.pk), now=now)
    attempt_end(job, Outcome.CANCELLED, now=now)
    return Outcome.CANCELLED


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
            outcome = _stop(job, now=now)
        else:
            # The transcript's text is its segments joined, the same rule an edit rebuilds it with.
            transcript = Transcript.objects.create(
                job=job, text=join_texts(s.text for s in result.segments), audio_seconds=result.audio_seconds,
                language=result.language, preset=result.preset,
            )
            Segment.objects.bulk_create(
                [Segment(transcript=transcript, index=s.index, start=s.start, end=s.end, text=s.text,
                         text_itn=segment_digits(s.text), speaker=s.speaker or "",
                         words=[[w, round(a, 3), round(b, 3)] for w, a, b in s.words]) for s in result.segments],
                batch_size=500,
            )
            found = result.speaker_vectors
            if found is not None and found.chunks:
                SpeakerEmbeddings.objects.create(transcript=transcript, chunks=[list(c) for c in found.chunks],
                                                 speakers=job_speakers(job.options),
                                                 dim=int(found.vectors.shape[1]), vectors=found.to_bytes())
            models_used = dict(result.models)
            job_states.succeed(Job.objects.filter(pk=job.pk), now=now, audio_seconds=result.audio_seconds,
                               processing_seconds=result.processing_seconds,
                               engine=str(models_used.get("asr", ""))[:64], models_used=models_used)
            attempt_end(job, Outcome.SUCCEEDED, now=now)
            outcome = Outcome.SUCCEEDED
        after_finish(job.pk)
    return outcome


def job_cancelled_by_worker(*, job_id: Any, worker: str, attempt: int) -> Outcome | None:
    """The engine stopped at a segment boundary because cancel was requested."""
    now = timezone.now()
    with transaction.atomic():
        job = _lock_owned(job_id, worker, attempt)
        if job is None:
            return None
        outcome = _stop(job, now=now)
        after_finish(job.pk)
    return outcome


def job_fail(*, job_id: Any, worker: str, attempt: int, error: str, traceback: str = "",
             transient: bool = False, not_set_up: bool = False) -> Outcome | None:
    """A permanent error fails the job at once; a transient one puts it back
    in the queue while attempts remain (job_states.attempt_ending). ``not_set_up``:
    the deployment cannot load its models; ``error`` is then the operator's
    details, kept for staff, and the team (emails and webhooks included) sees a
    plain message."""
    now = timezone.now()
    if not_set_up:
        error, traceback, transient = str(job_states.NOT_SET_UP_MESSAGE), error, False
    with transaction.atomic():
        job = _lock_owned(job_id, worker, attempt)
        if job is None:
            return None
        row = Job.objects.filter(pk=job.pk)
        ending = job_states.attempt_ending(lost=False, transient=transient, attempts=job.attempts,
                                           max_attempts=job.max_attempts, run_alone=job.run_alone,
                                           cancel_requested=job.cancel_requested)
        if ending.then is Then.CANCELLED:
            _stop(job, now=now)
            after_finish(job.pk)
            return ending.outcome
        if ending.then is Then.REQUEUED:
            job_states.requeue(row, traceback=traceback, ending=ending, error=_(
                "Attempt %(n)d of %(max)d failed: %(error)s The job is back in the queue.") % {
                "n": job.attempts, "max": job.max_attempts, "error": error})
            attempt_end(job, ending.outcome, error, now=now)
            job_enqueue_wakeup()
            return ending.outcome
        job_states.fail(row, now=now, error=error, traceback=traceback, not_set_up=not_set_up)
        attempt_end(job, ending.outcome, error, now=now)
        after_finish(job.pk)
    return ending.outcome


class Loss(StrEnum):
    """Why a worker lost the jobs it held."""

    GONE = "gone"  # its process ended (seen on its own node)
    SILENT = "silent"  # its heartbeat went stale (a node lost, a process hung)
    ERROR = "error"  # an error around a batch, not on one job: the worker hands the batch back


def _loss_text(why: Loss) -> str:
    return {
        Loss.GONE: _("The worker process ended unexpectedly"),
        Loss.SILENT: _("The worker stopped responding"),
        Loss.ERROR: _("The worker hit an internal error"),
    }[why]


def _crashes_message(job: Job) -> str:
    """The job crashed its worker every time it ran alone: name the likely cause."""
    minutes = round((job.media.duration or 0) / 60)
    megabytes = round((job.media.size or 0) / 1_000_000)
    return _("The worker stopped %(n)d times while transcribing this file, the last times with no other file "
             "beside it, so it was given up. The likely cause is its length (%(minutes)d min of audio, %(mb)d MB): "
             "transcribing it needs more memory than the worker has. Splitting it into shorter files should "
             "help.") % {"n": job.attempts, "minutes": minutes, "mb": megabytes}


def job_lost(*, job: Job, guard: QuerySet[Job], why: Loss, now: datetime | None = None) -> job_states.Ending | None:
    """End an attempt whose worker lost it (job_states.attempt_ending, ``lost``). ``guard`` selects the job
    only while it is still in the lost attempt (status, worker, attempt, and for the reaper an unchanged
    heartbeat); None when it no longer is."""
    now = now or timezone.now()
    ending = job_states.attempt_ending(lost=True, attempts=job.attempts, max_attempts=job.max_attempts,
                                       run_alone=job.run_alone, cancel_requested=job.cancel_requested)
    what = _loss_text(why)
    note = _("%(what)s (attempt %(n)d of %(max)d).") % {"what": what, "n": job.attempts, "max": job.max_attempts}
    with transaction.atomic():
        if ending.then is Then.CANCELLED:
            done = job_states.stop(guard, now=now)
        elif ending.then is Then.FAILED:
            done = job_states.fail(guard, now=now, error=_crashes_message(job))
        elif ending.charged:
            done = job_states.requeue(guard, ending=ending, error=note + " " + _("The job is back in the queue."))
        else:
            note = _("%(what)s while this file shared its batch with others; it runs again on its own, "
                     "and this does not count as an attempt.") % {"what": what}
            done = job_states.requeue(guard, ending=ending, error=note)
        if not done:
            return None
        attempt_end(job, ending.outcome, note, now=now)
        if ending.then is Then.REQUEUED:
            job_enqueue_wakeup()
        else:
            after_finish(job.pk)
    return ending


def jobs_abandon(*, worker: str, held: list[tuple[Any, int]]) -> int:
    """An error escaped the worker's handling of a batch (between claim and result): hand every job
    it still holds back at once, as lost, rather than leave them for the reaper. ``held``: (job id,
    attempt) pairs."""
    ended = 0
    for job_id, attempt in held:
        guard = _owned(job_id, worker, attempt)
        job = guard.select_related("media").first()
        if job is not None and job_lost(job=job, guard=guard, why=Loss.ERROR) is not None:
            ended += 1
    if ended:
        log.warning("worker %s handed %d job(s) back after an error", worker, ended)
    return ended


def jobs_hand_back(*, worker: str) -> int:
    """Put every job this worker holds back in the queue at once (it is
    shutting down): no stale timeout, and the attempt is recorded as
    interrupted, not failed."""
    now = timezone.now()
    handed = 0
    for job in Job.objects.filter(job_states.q_status(JobStatus.RUNNING), worker=worker).only("pk", "attempts"):
        with transaction.atomic():
            if job_states.hand_back(Job.objects.filter(pk=job.pk, worker=worker, attempts=job.attempts)):
                attempt_end(job, Outcome.INTERRUPTED, now=now)
                handed += 1
    if handed:
        job_enqueue_wakeup(count=1)
    log.info("worker %s handed %d job(s) back to the queue", worker, handed)
    return handed
