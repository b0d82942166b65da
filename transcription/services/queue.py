"""Read-side views of the queue: positions, ETAs and summaries.

Positions follow the same order workers claim in (jobs.claim_order). ETAs
come from measured speed: the real-time factor (processing/audio seconds) of
recent jobs, with queued jobs handed to the workers in claim order as each
worker frees up.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet
from django.utils import timezone

from portal.models import Membership
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.claim import claim_order

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
    if not wanted:
        return positions
    for place, pk in enumerate(claim_order().values_list("pk", flat=True).iterator(chunk_size=2000), start=1):
        if pk in wanted:
            positions[pk] = place
            wanted.discard(pk)
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


def jobs_with_queue_info(jobs: Sequence[Job]) -> Sequence[Job]:
    """Annotate each job with ``queue_position`` and ``eta`` (a datetime
    when it should finish, or None when there is no measurement yet)."""
    for job in jobs:
        job.queue_position = None  # type: ignore[attr-defined]
        job.eta = None  # type: ignore[attr-defined]
    active = {job.pk: job for job in jobs if job.is_active}
    if not active:
        return jobs
    rtf = measured_rtf()
    now = timezone.now()
    running = list(
        Job.objects.filter(job_states.q_status(JobStatus.RUNNING)).values_list("pk", "media__duration", "progress")
    )
    # Each running job holds a worker until its remaining audio is done.
    free_at = sorted(
        max(0.0, (duration or 0) * (1 - (progress or 0) / 100)) * (rtf or 0) for _pk, duration, progress in running
    ) or [0.0]
    for pk, duration, progress in running:
        if pk in active and rtf is not None:
            active[pk].eta = now + timedelta(seconds=max(0.0, (duration or 0) * (1 - (progress or 0) / 100) * rtf))
    waiting = {pk for pk, job in active.items() if job.is_queued}
    if not waiting:
        return jobs
    heapq.heapify(free_at)
    order = claim_order().values_list("pk", "media__duration").iterator(chunk_size=2000)
    for place, (pk, duration) in enumerate(order, start=1):
        start = heapq.heappop(free_at)
        finish = start + (duration or 0) * (rtf or 0)
        heapq.heappush(free_at, finish)
        if pk in waiting:
            job = active[pk]
            job.queue_position = place  # type: ignore[attr-defined]
            if rtf is not None:
                job.eta = now + timedelta(seconds=finish)  # type: ignore[attr-defined]
            waiting.discard(pk)
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
