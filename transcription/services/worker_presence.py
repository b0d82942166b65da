"""Which ASR workers are alive, busy or not: each worker process notes itself
every heartbeat interval (from its reaper thread) and removes its note when it
stops cleanly; the ops page lists the notes beside the workers known from jobs,
so an idle worker is seen too. A killed worker's note simply ages."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from transcription.models import WorkerPresence


def worker_present(*, name: str) -> None:
    """This worker is alive now (one small write per heartbeat interval)."""
    now = timezone.now()
    if not WorkerPresence.objects.filter(name=name).update(seen_at=now):
        WorkerPresence.objects.get_or_create(name=name, defaults={"seen_at": now})


def worker_absent(*, name: str) -> None:
    """A clean stop: the worker is gone, not lost."""
    WorkerPresence.objects.filter(name=name).delete()


def workers_seen(*, since: datetime) -> dict[str, datetime]:
    return dict(WorkerPresence.objects.filter(seen_at__gte=since).values_list("name", "seen_at"))
