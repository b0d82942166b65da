"""Claiming: which queued job a worker takes next, taken atomically.

The claim is a conditional UPDATE (job_states.claim): of two workers racing
for a job exactly one moves it. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets
concurrent workers each lock a different candidate. SQLite: the IMMEDIATE
transaction holds the write lock from BEGIN, so claims are serialised.
"""

from __future__ import annotations

import os
import socket
import time

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job, JobAttempt

CLAIM_TRIES = 10


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_order(queryset: QuerySet[Job] | None = None) -> QuerySet[Job]:
    """Queued jobs in the order workers take them: priority, then the user
    with the fewest running jobs (fair share), then age."""
    running = (
        Job.objects.filter(job_states.q_status(JobStatus.RUNNING), created_by=OuterRef("created_by"))
        .order_by()
        .values("created_by")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = queryset if queryset is not None else Job.objects.all()
    return (
        qs.filter(job_states.q_status(JobStatus.QUEUED))
        .annotate(owner_running=Coalesce(Subquery(running, output_field=IntegerField()), Value(0)))
        .order_by("-priority", "owner_running", "queued_at", "created_at", "pk")
    )


def job_claim(*, worker: str) -> Job | None:
    """Atomically move the next queued job to running for ``worker``.

    Returns None only when nothing is queued: a candidate locked by a
    concurrent claimer is retried, so a wake-up is never spent while a job waits.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    for attempt in range(CLAIM_TRIES):
        job = _claim_once(worker=worker, skip_locked=skip_locked)
        if job is not None or not Job.objects.filter(job_states.q_status(JobStatus.QUEUED)).exists():
            return job
        time.sleep(0.02 * (attempt + 1))
    return None


def _claim_once(*, worker: str, skip_locked: bool) -> Job | None:
    now = timezone.now()
    with transaction.atomic():
        # With SKIP LOCKED, lock exactly one row: locking more would hide jobs from other workers.
        candidates = claim_order().select_for_update(skip_locked=True)[:1] if skip_locked else claim_order()[:3]
        for pk in list(candidates.values_list("pk", flat=True)):
            if job_states.claim(Job.objects.filter(pk=pk), worker=worker, now=now):
                job = Job.objects.select_related("media", "project", "created_by").get(pk=pk)
                JobAttempt.objects.create(job=job, number=job.attempts, worker=worker, started_at=now)
                return job
    return None
