"""What people do to jobs: cancel, retry, reprioritise, mark reviewed — one
job from a page or the API, or hundreds from the admin, through the same
code. Each command is a fixed number of statements however many jobs are
selected (conditional UPDATEs from job_states, so a job a worker moved on in
the meantime is simply not counted), and records who did it in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Conflict, NotAllowed
from portal.models import AuditAction, AuditEvent, Project
from portal.outgoing import outgoing_enqueue
from portal.services.audit import audit_events_for_object, audit_record_many
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.job_lifecycle import after_finish
from transcription.services.notifications import job_notify_finished
from transcription.services.wakeups import job_enqueue_wakeup

log = logging.getLogger(__name__)

PRIORITY_LIMIT = 1000
NOTIFY_TASK = "transcription.tasks.notify_jobs_finished"
HISTORY_ACTIONS = (AuditAction.JOB_CANCEL, AuditAction.JOB_RETRY, AuditAction.JOB_PRIORITY, AuditAction.JOB_REVIEW)


class JobStateError(Conflict):
    """The job is not in a state that allows this (HTTP 409)."""


def _scope(queryset: QuerySet[Job]) -> QuerySet[Job]:
    """The selected jobs as a plain pk subquery: the admin's queryset may
    carry joins, ordering or select_related that an UPDATE must not."""
    return Job.objects.filter(pk__in=queryset.order_by().values("pk"))


def _locked_ids(scope: QuerySet[Job]) -> list[Any]:
    # Locked so the ids audited are exactly the rows changed below
    # (PostgreSQL; SQLite already holds the write lock from BEGIN).
    return list(scope.select_for_update(of=("self",)).values_list("pk", flat=True))


def _audit(actor: Actor, action: AuditAction, ids: list[Any], detail: dict[str, Any] | None = None) -> None:
    if not ids:
        return
    jobs = Job.objects.filter(pk__in=ids).select_related("project__team", "media").only(
        "pk", "project__team__name", "media__original_name")
    audit_record_many(actor=actor, action=action, detail=detail,
                      targets=((job.project.team, job, job.media.original_name) for job in jobs))


@dataclass(frozen=True)
class CancelResult:
    cancelled: int  # were queued: cancelled now
    stopping: int  # were running: the worker stops at the next segment boundary

    @property
    def total(self) -> int:
        return self.cancelled + self.stopping


def jobs_cancel(*, actor: Actor, queryset: QuerySet[Job]) -> CancelResult:
    """Queued jobs are cancelled at once, running ones are asked to stop
    (their worker notifies when it does); finished jobs are left alone."""
    now = timezone.now()
    with transaction.atomic():
        # Locked, as in _locked_ids, in one query for both kinds.
        rows = list(_scope(queryset).filter(job_states.q_active()).select_for_update(of=("self",))
                    .values_list("pk", "status"))
        queued_ids, running_ids = job_states.split_active(rows)
        cancelled = job_states.cancel_queued(Job.objects.filter(pk__in=queued_ids), now=now)
        stopping = job_states.request_stop(Job.objects.filter(pk__in=running_ids))
        _audit(actor, AuditAction.JOB_CANCEL, [*queued_ids, *running_ids])
        if len(queued_ids) == 1:
            after_finish(queued_ids[0])
        elif queued_ids:
            ids = [str(pk) for pk in queued_ids]
            transaction.on_commit(lambda: outgoing_enqueue(NOTIFY_TASK, job_ids=ids, task_name="jobs-notify"),
                                  robust=True)
    return CancelResult(cancelled=cancelled, stopping=stopping)


def job_cancel(*, actor: Actor, job: Job) -> Job:
    """A queued job is cancelled at once; a running one stops at the next
    segment boundary (the worker sees cancel_requested on its heartbeat)."""
    if not jobs_cancel(actor=actor, queryset=Job.objects.filter(pk=job.pk)).total:
        raise JobStateError(_("This job has already finished."))
    job.refresh_from_db()
    return job


def jobs_retry(*, actor: Actor, queryset: QuerySet[Job]) -> int:
    """Failed or cancelled jobs (without a transcript) go back to the queue
    with a fresh set of attempts; returns how many. One wake-up per job.
    Jobs that failed because the server is not set up are left to staff."""
    with transaction.atomic():
        ids = _locked_ids(_scope(queryset).filter(job_states.q_retryable(staff=actor.is_staff)))
        count = job_states.retry(Job.objects.filter(pk__in=ids), now=timezone.now())
        _audit(actor, AuditAction.JOB_RETRY, ids)
        job_enqueue_wakeup(count=count)
    return count


def job_retry(*, actor: Actor, job: Job) -> Job:
    """Failed or cancelled → queued again, keeping the attempt history."""
    if not jobs_retry(actor=actor, queryset=Job.objects.filter(pk=job.pk)):
        if not job_states.can_retry_as(job, staff=actor.is_staff) and job_states.can_retry(job):
            raise JobStateError(_("Speech recognition is not set up yet on this server. An administrator will "
                                  "queue this job again once it is."))
        raise JobStateError(_("Only failed or cancelled jobs can be retried."))
    job.refresh_from_db()
    return job


def jobs_requeue_not_set_up(*, actor: Actor) -> int:
    """Staff, once the models are in place: every job that failed because the
    server was not set up goes back to the queue; returns how many."""
    if not actor.is_staff:
        raise NotAllowed(_("Only staff can requeue these jobs."))
    return jobs_retry(actor=actor, queryset=Job.objects.filter(job_states.q_not_set_up()))


def jobs_not_set_up_count() -> int:
    return Job.objects.filter(job_states.q_not_set_up()).count()


def q_failed_retryable_by(actor: Actor) -> Q:
    """The failed jobs this actor's "Retry all failed" retries (and the button counts)."""
    return job_states.q_status(JobStatus.FAILED) & job_states.q_retryable(staff=actor.is_staff)


def jobs_retry_failed(*, actor: Actor, project: Project) -> int:
    """Retry every failed job of the project this actor may retry; returns how many."""
    return jobs_retry(actor=actor, queryset=project.jobs.filter(q_failed_retryable_by(actor)))


def jobs_set_priority(*, actor: Actor, queryset: QuerySet[Job], delta: int) -> int:
    """Raise (or lower) the priority of the queued jobs among ``queryset``."""
    with transaction.atomic():
        ids = _locked_ids(_scope(queryset).filter(job_states.q_status(JobStatus.QUEUED)))
        count = Job.objects.filter(pk__in=ids).update(
            priority=Least(Greatest(F("priority") + delta, Value(-PRIORITY_LIMIT)), Value(PRIORITY_LIMIT)))
        _audit(actor, AuditAction.JOB_PRIORITY, ids, {"change": delta})
    return count


def job_update_limits(*, actor: Actor, job: Job, priority: int | None = None,
                      max_attempts: int | None = None) -> Job:
    """Staff set a job's priority or attempt limit. Only these fields are
    written: a worker may have moved the job on since the form was loaded."""
    fields: dict[str, int] = {}
    if priority is not None and priority != job.priority:
        fields["priority"] = max(-PRIORITY_LIMIT, min(PRIORITY_LIMIT, priority))
    if max_attempts is not None and max_attempts != job.max_attempts:
        fields["max_attempts"] = max(1, max_attempts)
    if fields:
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(**fields)
            _audit(actor, AuditAction.JOB_PRIORITY, [job.pk], dict(fields))
    job.refresh_from_db()
    return job


def jobs_mark_reviewed(*, actor: Actor, queryset: QuerySet[Job]) -> int:
    """Record that staff looked at these finished jobs; returns how many
    were newly marked (already reviewed and unfinished jobs are skipped)."""
    with transaction.atomic():
        ids = _locked_ids(_scope(queryset).filter(job_states.q_finished(), reviewed_at__isnull=True))
        count = Job.objects.filter(pk__in=ids).update(reviewed_at=timezone.now(), reviewed_by=actor.user)
        _audit(actor, AuditAction.JOB_REVIEW, ids)
    return count


def jobs_notify_finished(*, job_ids: list[Any]) -> int:
    """Background task: emails and webhooks for jobs cancelled in bulk, the
    same as a one-job cancel sends, without holding up the staff request."""
    done = 0
    for job_id in job_ids:
        try:
            job_notify_finished(job_id=job_id)
            done += 1
        except Exception:  # one bad row must not silence the rest
            log.exception("could not notify about job %s", job_id)
    return done


def job_history(*, job: Job) -> QuerySet[AuditEvent]:
    """Who cancelled, retried, reprioritised or reviewed this job, and when."""
    return audit_events_for_object(obj=job, actions=HISTORY_ACTIONS).select_related("actor")
