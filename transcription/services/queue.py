"""Read-side views of the queue: positions, ETAs and summaries.

Positions are the places in ``claim.queue_order``, the very order workers
claim in. ETAs come from measured speed: the real-time factor (processing /
audio seconds) of recent jobs, with the queued jobs handed, in that order, to
the workers as each frees up.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet
from django.utils import timezone

from portal.models import Membership
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.claim import queue_order

# How many recent jobs the speed estimate averages over.
SPEED_SAMPLE = 50


def queue_summary_for_user(*, user: AbstractBaseUser) -> dict[str, int]:
    """Counts of the user's own jobs by status (every status present)."""
    counts = dict(
        Job.objects.filter(created_by=user).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in JobStatus.values}


def queue_positions(*, jobs: Iterable[Job]) -> dict[object, int | None]:
    """1-based place in the global queue for each queued job (None otherwise)."""
    jobs = list(jobs)
    positions: dict[object, int | None] = {job.pk: None for job in jobs}
    wanted = {job.pk for job in jobs if job.is_queued}
    if wanted:
        for place, waiting in enumerate(queue_order(), start=1):
            if waiting.pk in wanted:
                positions[waiting.pk] = place
                wanted.discard(waiting.pk)
                if not wanted:
                    break
    return positions


def measured_rtf() -> float | None:
    """Processing seconds per audio second over recent successful jobs."""
    recent = (
        Job.objects.filter(job_states.q_status(JobStatus.SUCCEEDED), audio_seconds__gt=0,
                           processing_seconds__isnull=False)
        .order_by("-finished_at")
        .values_list("audio_seconds", "processing_seconds")[:SPEED_SAMPLE]
    )
    audio = processing = 0.0
    for audio_seconds, processing_seconds in recent:
        audio += audio_seconds
        processing += processing_seconds
    return processing / audio if audio > 0 else None


def _eta(now: datetime, seconds: float, rtf: float | None) -> datetime | None:
    return now + timedelta(seconds=seconds) if rtf is not None else None


def jobs_with_queue_info(jobs: Sequence[Job], *, now: datetime | None = None) -> Sequence[Job]:
    """Annotate each job with ``queue_position`` and ``eta`` (a datetime
    when it should finish, or None when there is no measurement yet)."""
    for job in jobs:
        job.queue_position = None  # type: ignore[attr-defined]
        job.eta = None  # type: ignore[attr-defined]
    active = {job.pk: job for job in jobs if job.is_active}
    if not active:
        return jobs
    rtf = measured_rtf()
    now = now or timezone.now()
    running = list(Job.objects.filter(job_states.q_status(JobStatus.RUNNING))
                   .values_list("pk", "worker", "media__duration", "progress"))
    # Each worker is busy until the audio it holds is done; its jobs finish in turn.
    left: dict[str, float] = {}
    for pk, worker, duration, progress in running:
        left[worker] = left.get(worker, 0.0) + (duration or 0) * (1 - (progress or 0) / 100) * (rtf or 0)
        if pk in active:
            active[pk].eta = _eta(now, left[worker], rtf)
    waiting = {pk for pk, job in active.items() if job.is_queued}
    if not waiting:
        return jobs
    free_at = list(left.values()) or [0.0]
    heapq.heapify(free_at)
    for place, job in enumerate(queue_order(now=now), start=1):
        finish = heapq.heappop(free_at) + job.seconds * (rtf or 0)
        heapq.heappush(free_at, finish)
        if job.pk in waiting:
            active[job.pk].queue_position = place  # type: ignore[attr-defined]
            active[job.pk].eta = _eta(now, finish, rtf)  # type: ignore[attr-defined]
            waiting.discard(job.pk)
            if not waiting:
                break
    return jobs


def jobs_for_queue_page(*, user: AbstractBaseUser) -> QuerySet[Job]:
    """My jobs, in teams I am still a member of."""
    team_ids = Membership.objects.filter(user=user).values("team_id")
    return Job.objects.filter(created_by=user, project__team_id__in=team_ids).select_related(
        "media", "project", "transcript"
    )


def roles_by_team(*, user: AbstractBaseUser) -> dict[object, Membership]:
    return {m.team_id: m for m in Membership.objects.filter(user=user)}
