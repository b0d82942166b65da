"""The outgoing queue: calls that leave this deployment (webhook deliveries,
email) are django-q2 tasks on a queue of their own, served by the outgoing
cluster (``QCLUSTER_ROLE=outgoing manage.py qcluster``), so a slow or stalled
receiver never holds an ASR worker or a web request."""

from __future__ import annotations

from django.conf import settings
from django_q.tasks import async_task


def outgoing_queue() -> str:
    """The outgoing cluster's queue: the ASR queue's name (Q_CLUSTER_NAME) with "-outgoing"."""
    return f"{settings.Q_CLUSTER['name']}-outgoing"


def outgoing_enqueue(func: str, *args: object, task_name: str, **kwargs: object) -> None:
    async_task(func, *args, cluster=outgoing_queue(), task_name=task_name, group="outgoing", **kwargs)
