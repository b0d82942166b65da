"""Periodic housekeeping run by the cluster's scheduler, created idempotently
after every migrate (see TranscriptionConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from portal.outgoing import outgoing_queue
from transcription.services.wakeups import asr_cluster

# name: (task, minutes, queue): the webhook retries run on the outgoing cluster's queue.
SCHEDULES: dict[str, tuple[str, int, str]] = {
    "Reap stale jobs": ("transcription.tasks.reap_stale_jobs", 1, "asr"),
    "Send due webhook deliveries": ("transcription.tasks.send_due_webhooks", 1, "outgoing"),
    "Run queued language-model requests": ("transcription.tasks.dispatch_llm_requests", 1, "outgoing"),
}


def schedules_ensure(**_kwargs: Any) -> None:
    if Schedule._meta.db_table not in connection.introspection.table_names():
        return  # django_q not migrated yet; its own migrate run sends post_migrate again
    for name, (func, minutes, queue) in SCHEDULES.items():
        cluster = asr_cluster() if queue == "asr" else outgoing_queue()
        defaults = {"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1,
                    "cluster": cluster}
        Schedule.objects.update_or_create(name=name, defaults=defaults,
                                          create_defaults={**defaults, "next_run": timezone.now()})
