"""Fair share: the order queued jobs are claimed in, and claiming them.

Priority first; then the team with the least recent service, then the user
with the least within that team; then age. Recent service is the audio
seconds of jobs started in the last QUEUE_FAIR_WINDOW_SECONDS plus those
running now (every job counts at least MIN_JOB_SECONDS). The order is
simulated claim by claim — each claimed job adds to its team's and user's
service — so it interleaves even with one worker, and queue positions and
ETAs come from the same function (``fair_order``) the workers claim with.

A claim is a conditional UPDATE (job_states.claim), one per job, so of two
workers racing for a job exactly one moves it; on PostgreSQL a row another
claimer holds is skipped (SKIP LOCKED) rather than waited for.
"""

from __future__ import annotations

import heapq
import time
import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Q
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from portal.models import Project
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job, JobAttempt
from transcription.services.job_options import batch_key

MIN_JOB_SECONDS = 1.0
CLAIM_TRIES = 10


@dataclass(slots=True)
class Waiting:
    """A queued job as the scheduler sees it. ``rank`` is its age among the
    queued jobs (0 = waiting longest)."""

    pk: Any
    priority: int
    team: str
    user: Any
    seconds: float
    rank: int
    project: Any = None
    options: dict[str, Any] | None = None
    alone: bool = False  # its last batch was lost: it runs in a batch of its own (job_states.attempt_ending)

    @property
    def cost(self) -> float:
        return max(self.seconds or 0.0, MIN_JOB_SECONDS)


def waiting_jobs(*, for_claim: bool = False) -> list[Waiting]:
    """Every queued job, oldest first, in one query. The database sorts by age
    and the team comes as text, so no row needs a date or a UUID parsed but
    its own id; ``for_claim`` adds what batching needs (project, options)."""
    qs = (Job.objects.filter(job_states.q_status(JobStatus.QUEUED))
          .annotate(team_key=Cast("project__team_id", CharField()))
          .order_by(Coalesce("queued_at", "created_at"), "created_at", "pk"))
    if not for_claim:
        rows = qs.values_list("pk", "priority", "team_key", "created_by_id", "media__duration")
        return [Waiting(pk, priority, team, user, seconds or 0.0, rank)
                for rank, (pk, priority, team, user, seconds) in enumerate(rows)]
    rows = qs.values_list("pk", "priority", "team_key", "created_by_id", "media__duration", "project_id", "options",
                          "run_alone")
    return [Waiting(pk, priority, team, user, seconds or 0.0, rank, project, options or {}, alone)
            for rank, (pk, priority, team, user, seconds, project, options, alone) in enumerate(rows)]


@dataclass
class Service:
    """Recent service per team and per (team, user)."""

    teams: dict[Any, float]
    users: dict[tuple[Any, Any], float]


def recent_service(*, now: datetime) -> Service:
    since = now - timedelta(seconds=settings.QUEUE_FAIR_WINDOW_SECONDS)
    rows = (Job.objects.filter(Q(started_at__gte=since) | job_states.q_status(JobStatus.RUNNING)).order_by()
            .annotate(team_key=Cast("project__team_id", CharField()))
            .values_list("team_key", "created_by_id", "media__duration"))
    service = Service(defaultdict(float), defaultdict(float))
    for team, user, seconds in rows:
        cost = max(seconds or 0.0, MIN_JOB_SECONDS)
        service.teams[team] += cost
        service.users[(team, user)] += cost
    return service


def fair_order(waiting: list[Waiting], service: Service) -> Iterator[Waiting]:
    """The queued jobs in claim order (see the module docstring), lazily.
    ``service`` is updated as jobs are handed out."""
    streams: dict[tuple[Any, Any], list[Waiting]] = defaultdict(list)
    for w in waiting:
        streams[(w.team, w.user)].append(w)
    for stream in streams.values():
        # Each user's own jobs: highest priority, then oldest, last in the list (popped first).
        stream.sort(key=lambda w: (-w.priority, w.rank), reverse=True)

    def user_key(stream_id: tuple[Any, Any]) -> tuple:
        head = streams[stream_id][-1]
        return (-head.priority, service.users[stream_id], head.rank)

    users_of: dict[Any, list[tuple[tuple, tuple[Any, Any]]]] = defaultdict(list)
    for stream_id in streams:
        heapq.heappush(users_of[stream_id[0]], (user_key(stream_id), stream_id))

    def team_key(team: Any) -> tuple:
        best = users_of[team][0][0]
        return (best[0], service.teams[team], *best[1:])

    teams = [(team_key(team), team) for team in users_of]
    heapq.heapify(teams)
    while teams:
        _key, team = heapq.heappop(teams)
        _ukey, stream_id = heapq.heappop(users_of[team])
        job = streams[stream_id].pop()
        yield job
        service.teams[team] += job.cost
        service.users[stream_id] += job.cost
        if streams[stream_id]:
            heapq.heappush(users_of[team], (user_key(stream_id), stream_id))
        if users_of[team]:
            heapq.heappush(teams, (team_key(team), team))


def queue_order(*, now: datetime | None = None) -> Iterator[Waiting]:
    """Every queued job in the order the workers will claim them."""
    now = now or timezone.now()
    return fair_order(waiting_jobs(), recent_service(now=now))


def _claim_one(pk: Any, *, worker: str, batch: str, now: datetime, skip_locked: bool) -> bool:
    with transaction.atomic():
        row = Job.objects.filter(pk=pk)
        if skip_locked and not row.select_for_update(skip_locked=True).filter(
                job_states.q_status(JobStatus.QUEUED)).exists():
            return False
        if not job_states.claim(row, worker=worker, now=now):
            return False
        attempts = row.values_list("attempts", flat=True).get()
        JobAttempt.objects.create(job_id=pk, number=attempts, worker=worker, batch=batch, started_at=now)
    return True


def jobs_claim_batch(*, worker: str, max_jobs: int, max_seconds: float, solo_ok: bool = True) -> list[Job]:
    """Claim the next jobs in fair order that can share one engine call: up
    to ``max_jobs`` jobs and ``max_seconds`` of audio (a longer job runs
    alone), all with the same engine options as the first. A job marked
    ``run_alone`` is claimed only as a batch of its own, and only when
    ``solo_ok`` (the worker holds nothing else: not for a prefetch, which
    claims nothing when such a job is next), so if it crashes the worker no
    other job is lost with it. Returns them in claim order; [] when nothing
    that may be claimed is queued."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    batch = uuid.uuid4().hex
    for attempt in range(CLAIM_TRIES):
        now = timezone.now()
        waiting = waiting_jobs(for_claim=True)
        if not waiting:
            return []
        hotwords = _project_hotwords({w.project for w in waiting})
        claimed: list[Any] = []
        key: Hashable | None = None
        seconds = 0.0
        for scanned, w in enumerate(fair_order(waiting, recent_service(now=now))):
            if claimed and scanned >= 4 * max_jobs:
                break  # look ahead a little for compatible jobs, not through the whole queue
            if w.alone and not claimed and not solo_ok:
                return []  # its turn: it waits for a worker holding nothing, not behind later jobs
            if w.alone and claimed:
                continue
            wkey = batch_key(project_hotwords=hotwords.get(w.project, []), options=w.options)
            if key is not None and wkey != key:
                continue
            if claimed and seconds + w.seconds > max_seconds:
                break
            if _claim_one(w.pk, worker=worker, batch=batch, now=now, skip_locked=skip_locked):
                claimed.append(w.pk)
                key = wkey
                seconds += w.seconds
                if w.alone or len(claimed) >= max_jobs or seconds >= max_seconds:
                    break
        if claimed:
            jobs = Job.objects.select_related("media", "project", "created_by").in_bulk(claimed)
            return [jobs[pk] for pk in claimed]
        time.sleep(0.02 * (attempt + 1))  # every candidate was taken by a concurrent claimer
    return []


def alone_waiting() -> bool:
    """A job that must run alone is queued (a prefetch does not claim those)."""
    return Job.objects.filter(job_states.q_status(JobStatus.QUEUED), run_alone=True).exists()


def _project_hotwords(projects: set[Any]) -> dict[Any, list[str]]:
    return dict(Project.objects.filter(pk__in=projects).values_list("pk", "hotwords"))


def job_claim(*, worker: str) -> Job | None:
    """Claim the single next job (a batch of one)."""
    jobs = jobs_claim_batch(worker=worker, max_jobs=1, max_seconds=float("inf"))
    return jobs[0] if jobs else None
