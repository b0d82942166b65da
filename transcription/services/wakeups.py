"""Waking ASR workers: a django-q2 task is only a hint that work is queued
(the Job table is the queue of record), so a duplicate wake-up claims
nothing and a lost one is made up for by the reaper's idle check."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

RUN_TASK = "transcription.tasks.run_next_job"


def asr_cluster() -> str:
    """The django-q2 queue ASR workers listen on (the cluster's name)."""
    return str(settings.Q_CLUSTER["name"])


def wakeups_send(count: int = 1) -> None:
    for _n in range(count):
        async_task(RUN_TASK, cluster=asr_cluster(), task_name="asr-wakeup", group="asr")


def job_enqueue_wakeup(*, count: int = 1) -> None:
    """Wake ``count`` workers once the current transaction commits. A broker
    outage is logged, not raised: the reaper's idle check enqueues again."""
    if count > 0:
        transaction.on_commit(lambda: wakeups_send(count), robust=True)


def task_enqueue(func: str, *args: object, task_name: str, group: str, **kwargs: object) -> None:
    """A background task on the ASR cluster's queue (exports, bulk notifications)."""
    async_task(func, *args, cluster=asr_cluster(), task_name=task_name, group=group, **kwargs)
