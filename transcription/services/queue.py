"""Read-side views of the queue: positions, ETAs and summaries.

Positions are the places in ``claim.queue_order``, the very order workers
claim in. ETAs come from measured speed: the real-time factor (processing /
audio seconds) of recent jobs, with the queued jobs handed, in that order, to
the workers as each frees up.
"""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from portal.models import Membership
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.claim import queue_order

# How many recent jobs the speed estimate averages over.
SPEED_SAMPLE = 50

# What a row of a job table never shows: loading them for 25 rows would read whole transcripts.
ROW_DEFERRED = ("traceback", "models_used", "options", "transcript__text", "transcript__speaker_names")


def queue_summary_for_user(*, user: AbstractBaseUser) -> dict[str, int]:
    """Counts of the user's own jobs by status (every status present)."""
    counts = dict(
        Job.objects.filter(created_by=user).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in JobStatus.values}


def queue_positions(*, jobs: Iterable[Job]) -> dict[object, int | None]:
    """1-based place in the global queue for each queued job (None otherwise)."""
    jobs = list(jobs)
    if not any(job.is_queued for job in jobs):
        return {job.pk: None for job in jobs}
    places = queue_schedule().places
    return {job.pk: places.get(job.pk, (None, None))[0] if job.is_queued else None for job in jobs}


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


@dataclass(frozen=True)
class Schedule:
    """Where every active job stands: queued jobs' places and when each active job should finish."""

    computed_at: datetime
    places: dict[object, tuple[int, datetime | None]]  # queued job -> (place, eta)
    running: dict[object, datetime | None]  # running job -> eta


def _schedule(now: datetime) -> Schedule:
    """Positions are the places in queue_order, the order workers claim in. Each worker is busy
    until the audio it holds is done; queued jobs go, in that order, to the worker free first."""
    rtf = measured_rtf()

    def eta(seconds: float) -> datetime | None:
        return now + timedelta(seconds=seconds) if rtf is not None else None

    left: dict[str, float] = {}
    running: dict[object, datetime | None] = {}
    for pk, worker, duration, progress in (Job.objects.filter(job_states.q_status(JobStatus.RUNNING))
                                           .values_list("pk", "worker", "media__duration", "progress")):
        left[worker] = left.get(worker, 0.0) + (duration or 0) * (1 - (progress or 0) / 100) * (rtf or 0)
        running[pk] = eta(left[worker])
    free_at = list(left.values()) or [0.0]
    heapq.heapify(free_at)
    places: dict[object, tuple[int, datetime | None]] = {}
    for place, job in enumerate(queue_order(now=now), start=1):
        finish = heapq.heappop(free_at) + job.seconds * (rtf or 0)
        heapq.heappush(free_at, finish)
        places[job.pk] = (place, eta(finish))
    return Schedule(computed_at=now, places=places, running=running)


def queue_schedule(*, now: datetime | None = None) -> Schedule:
    """The schedule, shared for a moment (QUEUE_SNAPSHOT_SECONDS) by every page and API call
    once the queue is long (QUEUE_SNAPSHOT_MIN_JOBS queued): working it out walks the whole
    queue, and twenty people watching their queues would otherwise each do so every two seconds.
    The snapshot is keyed on what changes the order (jobs queued, started, re-prioritised), so a
    change is seen at once; only the progress of running jobs can be that many seconds old."""
    now = now or timezone.now()
    active = Job.objects.filter(job_states.q_active())
    signature = active.aggregate(queued=Count("id", filter=job_states.q_status(JobStatus.QUEUED)),
                                 running=Count("id", filter=job_states.q_status(JobStatus.RUNNING)),
                                 last_queued=Max("queued_at"), last_started=Max("started_at"),
                                 priority=Sum("priority"), cancelling=Count("id", filter=Q(cancel_requested=True)))
    if (signature["queued"] or 0) < settings.QUEUE_SNAPSHOT_MIN_JOBS:
        return _schedule(now)
    window = int(time.time() // max(1, settings.QUEUE_SNAPSHOT_SECONDS))
    digest = hashlib.sha256(repr(sorted(signature.items())).encode()).hexdigest()[:24]
    key = f"queue-schedule:{digest}:{window}"
    global _newest
    if _newest is not None and _newest[0] == key:
        return _newest[1]
    schedule = cache.get(key)
    if schedule is None:
        schedule = _schedule(now)
        cache.set(key, schedule, timeout=2 * max(1, settings.QUEUE_SNAPSHOT_SECONDS))
    _newest = (key, schedule)
    return schedule


# This process's copy of the newest snapshot it fetched or made, under the same key: reading it
# back from the cache costs more than the rest of a queue page's queries together.
_newest: tuple[str, Schedule] | None = None


def queue_snapshot_forget() -> None:
    """Drop this process's copy of the snapshot (after the shared cache is cleared)."""
    global _newest
    _newest = None


def jobs_with_queue_info(jobs: Sequence[Job], *, now: datetime | None = None,
                         schedule: Schedule | None = None) -> Sequence[Job]:
    """Annotate each job with ``queue_position`` and ``eta`` (a datetime
    when it should finish, or None when there is no measurement yet)."""
    for job in jobs:
        job.queue_position = None  # type: ignore[attr-defined]
        job.eta = None  # type: ignore[attr-defined]
    if not any(job.is_active for job in jobs):
        return jobs
    schedule = schedule or queue_schedule(now=now)
    for job in jobs:
        if job.is_running:
            job.eta = schedule.running.get(job.pk)  # type: ignore[attr-defined]
        elif job.is_queued and job.pk in schedule.places:
            job.queue_position, job.eta = schedule.places[job.pk]  # type: ignore[attr-defined]
    return jobs


def jobs_for_queue_page(*, user: AbstractBaseUser) -> QuerySet[Job]:
    """My jobs, in teams I am still a member of."""
    team_ids = Membership.objects.filter(user=user).values("team_id")
    return jobs_for_rows(Job.objects.filter(created_by=user, project__team_id__in=team_ids))


def jobs_for_rows(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """Jobs with what a row of a job table shows (file, project, transcript link) and no more."""
    return jobs.select_related("media", "project", "transcript").defer(*ROW_DEFERRED)


def with_my_role(jobs: QuerySet[Job], *, user: AbstractBaseUser) -> QuerySet[Job]:
    """Each job with ``my_role``: the user's role in the job's team (None if not a member), in the
    same query as the rows rather than one more round trip for the user's memberships."""
    return jobs.annotate(my_role=Subquery(Membership.objects.filter(team_id=OuterRef("project__team_id"), user=user)
                                          .order_by().values("role")[:1]))
