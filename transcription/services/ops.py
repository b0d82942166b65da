"""What the staff ops page shows: the queue now, throughput, failures and
per-team usage. Every number is one aggregate query, so the page costs the
same with ten jobs or ten million."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.worker_presence import workers_seen

THROUGHPUT_HOURS = 24
FAILURE_WINDOW = timedelta(hours=24)
RUNNING_LIMIT = 100
FAILURE_GROUPS_LIMIT = 20
TEAMS_LIMIT = 100


@dataclass(frozen=True)
class RunningJob:
    id: str
    filename: str
    username: str
    team_name: str
    worker: str
    started_at: datetime | None
    heartbeat_at: datetime | None
    progress: float
    stage: str
    stale: bool
    heartbeat_age: float | None  # seconds since the last heartbeat


@dataclass(frozen=True)
class WorkerState:
    name: str
    running: int
    succeeded: int
    failed: int
    last_seen: datetime | None
    stale: bool
    last_seen_age: float | None  # seconds


@dataclass(frozen=True)
class HourPoint:
    start: datetime
    jobs: int
    audio_seconds: float
    processing_seconds: float

    @property
    def audio_hours(self) -> float:
        return self.audio_seconds / 3600

    @property
    def rtf(self) -> float | None:
        return self.processing_seconds / self.audio_seconds if self.audio_seconds else None


@dataclass(frozen=True)
class FailureGroup:
    error: str
    count: int
    last_at: datetime | None


@dataclass(frozen=True)
class TeamUsage:
    team_id: str
    team_name: str
    jobs: int
    audio_seconds: float
    processing_seconds: float

    @property
    def audio_hours(self) -> float:
        return self.audio_seconds / 3600

    @property
    def processing_hours(self) -> float:
        return self.processing_seconds / 3600


@dataclass
class QueueNow:
    counts: dict[str, int]
    oldest_queued_at: datetime | None
    oldest_queued_wait: timedelta | None
    running: list[RunningJob]
    stale_count: int
    workers: list[WorkerState]

    @property
    def running_hidden(self) -> int:
        return max(0, self.counts.get(JobStatus.RUNNING, 0) - len(self.running))


@dataclass
class Throughput:
    since: datetime
    hours: list[HourPoint]
    jobs: int = field(init=False)
    audio_seconds: float = field(init=False)
    processing_seconds: float = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = sum(h.jobs for h in self.hours)
        self.audio_seconds = sum(h.audio_seconds for h in self.hours)
        self.processing_seconds = sum(h.processing_seconds for h in self.hours)

    @property
    def audio_hours(self) -> float:
        return self.audio_seconds / 3600

    @property
    def mean_rtf(self) -> float | None:
        """Processing time over audio time for the whole window: the fleet's
        real-time factor, weighted by audio length (a 2 h file counts more
        than a 5 s one)."""
        return self.processing_seconds / self.audio_seconds if self.audio_seconds else None


@dataclass
class Failures:
    since: datetime
    total: int
    groups: list[FailureGroup]


@dataclass
class Usage:
    since: datetime
    teams: list[TeamUsage]


@dataclass
class OpsSnapshot:
    now: datetime
    queue: QueueNow
    throughput: Throughput
    failures: Failures
    usage: Usage


def ops_queue_now(*, now: datetime) -> QueueNow:
    """Counts by status, the oldest queued job's wait, running jobs and
    workers with their last heartbeat (stale ones flagged)."""
    statuses = JobStatus.values
    agg = Job.objects.aggregate(
        **{f"n_{s}": Count("pk", filter=job_states.q_status(s)) for s in statuses},
        stale=Count("pk", filter=job_states.q_stale(now)),
        oldest=Min(Coalesce("queued_at", "created_at"), filter=job_states.q_status(JobStatus.QUEUED)),
    )
    counts = {s: agg[f"n_{s}"] for s in statuses}
    oldest = agg["oldest"]

    running_qs = (
        Job.objects.filter(job_states.q_status(JobStatus.RUNNING))
        .select_related("media", "created_by", "project__team")
        .order_by("started_at")[:RUNNING_LIMIT]
    )
    running = []
    for job in running_qs:
        running.append(RunningJob(
            id=str(job.pk),
            filename=job.media.original_name,
            username=job.created_by.get_username() if job.created_by else "",
            team_name=job.project.team.name,
            worker=job.worker,
            started_at=job.started_at,
            heartbeat_at=job.heartbeat_at,
            progress=job.progress,
            stage=job.stage,
            stale=job_states.is_stale(job, now),
            heartbeat_age=max(0.0, (now - job.heartbeat_at).total_seconds()) if job.heartbeat_at else None,
        ))

    return QueueNow(
        counts=counts,
        oldest_queued_at=oldest,
        oldest_queued_wait=(now - oldest) if oldest else None,
        running=running,
        stale_count=agg["stale"],
        workers=_workers(now=now),
    )


def _workers(*, now: datetime) -> list[WorkerState]:
    """Workers seen in the last 24 h: running now, done, last sign of life."""
    since = now - FAILURE_WINDOW
    rows = (
        Job.objects.exclude(worker="")
        .filter(job_states.q_status(JobStatus.RUNNING) | Q(finished_at__gte=since))
        .values("worker")
        .annotate(
            running=Count("pk", filter=job_states.q_status(JobStatus.RUNNING)),
            succeeded=Count("pk", filter=job_states.q_status(JobStatus.SUCCEEDED) & Q(finished_at__gte=since)),
            failed=Count("pk", filter=job_states.q_status(JobStatus.FAILED) & Q(finished_at__gte=since)),
            last_seen=Max(Coalesce("heartbeat_at", "finished_at", "started_at")),
        )
        .order_by("worker")
    )
    stale_before = job_states.stale_cutoff(now)
    seen = workers_seen(since=since)  # idle workers too: they note themselves every heartbeat interval
    by_name = {row["worker"]: row for row in rows}
    for name, at in seen.items():
        row = by_name.setdefault(name, {"worker": name, "running": 0, "succeeded": 0, "failed": 0, "last_seen": at})
        row["last_seen"] = max(filter(None, (row["last_seen"], at)))
    return [
        WorkerState(
            name=row["worker"],
            running=row["running"],
            succeeded=row["succeeded"],
            failed=row["failed"],
            last_seen=row["last_seen"],
            # Only a worker that holds a job is expected to beat.
            stale=bool(row["running"]) and (row["last_seen"] is None or row["last_seen"] < stale_before),
            last_seen_age=max(0.0, (now - row["last_seen"]).total_seconds()) if row["last_seen"] else None,
        )
        for row in sorted(by_name.values(), key=lambda r: r["worker"])
    ]


def ops_throughput(*, now: datetime, hours: int = THROUGHPUT_HOURS) -> Throughput:
    """Audio transcribed per clock hour (UTC hours) for the current hour and
    the ``hours - 1`` before it, from jobs that succeeded in that window."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    since = current - timedelta(hours=hours - 1)
    rows = (
        Job.objects.filter(job_states.q_status(JobStatus.SUCCEEDED), finished_at__gte=since, finished_at__lte=now,
                           audio_seconds__isnull=False)
        .annotate(hour=TruncHour("finished_at", tzinfo=UTC))
        .values("hour")
        .annotate(jobs=Count("pk"), audio=Sum("audio_seconds"),
                  processing=Sum(Coalesce("processing_seconds", 0.0)))
        .order_by("hour")
    )
    by_hour = {row["hour"].astimezone(UTC): row for row in rows}
    points = []
    for i in range(hours):
        start = since + timedelta(hours=i)
        row = by_hour.get(start, {})
        points.append(HourPoint(
            start=start,
            jobs=row.get("jobs", 0),
            audio_seconds=float(row.get("audio") or 0),
            processing_seconds=float(row.get("processing") or 0),
        ))
    return Throughput(since=since, hours=points)


def ops_failures(*, now: datetime, window: timedelta = FAILURE_WINDOW) -> Failures:
    """Jobs that failed in the window, grouped by their error message."""
    since = now - window
    failed = Job.objects.filter(job_states.q_status(JobStatus.FAILED), finished_at__gte=since)
    rows = list(
        failed.values("error")
        .annotate(count=Count("pk"), last_at=Max("finished_at"))
        .order_by("-count", "-last_at")
    )
    groups = [FailureGroup(error=r["error"], count=r["count"], last_at=r["last_at"])
              for r in rows[:FAILURE_GROUPS_LIMIT]]
    return Failures(since=since, total=sum(r["count"] for r in rows), groups=groups)


def month_start(now: datetime) -> datetime:
    """Midnight on the first of this month in the active time zone."""
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def ops_team_usage(*, now: datetime) -> Usage:
    """Audio transcribed per team this calendar month, biggest first."""
    since = month_start(now)
    rows = (
        Job.objects.filter(job_states.q_status(JobStatus.SUCCEEDED), finished_at__gte=since, finished_at__lte=now)
        .values("project__team_id", "project__team__name")
        .annotate(jobs=Count("pk"), audio=Sum(Coalesce("audio_seconds", 0.0)),
                  processing=Sum(Coalesce("processing_seconds", 0.0)))
        .order_by("-audio", "project__team__name")[:TEAMS_LIMIT]
    )
    return Usage(since=since, teams=[
        TeamUsage(team_id=str(r["project__team_id"]), team_name=r["project__team__name"], jobs=r["jobs"],
                  audio_seconds=float(r["audio"] or 0), processing_seconds=float(r["processing"] or 0))
        for r in rows
    ])


def ops_snapshot(*, now: datetime | None = None) -> OpsSnapshot:
    now = now or timezone.now()
    return OpsSnapshot(
        now=now,
        queue=ops_queue_now(now=now),
        throughput=ops_throughput(now=now),
        failures=ops_failures(now=now),
        usage=ops_team_usage(now=now),
    )
