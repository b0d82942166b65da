"""My queue (every job of mine, live), a job's page, and cancel/retry."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from transcription.access import get_job_for_user
from transcription.models import ACTIVE_STATUSES, FINISHED_STATUSES, Job, JobStatus
from transcription.services.jobs import JobStateError, job_cancel, job_retry
from transcription.services.queue import OUTCOME_LABELS, jobs_for_queue_page, jobs_with_queue_info, roles_by_team
from transcription.views.projects import wants_json

FINISHED_PER_PAGE = 25


def _queue_context(request: HttpRequest) -> dict:
    mine = jobs_for_queue_page(user=request.user)
    active = list(mine.filter(status__in=ACTIVE_STATUSES).order_by("-status", "queued_at", "created_at"))
    jobs_with_queue_info(active)
    # Running first, then queued by their place in the queue.
    active.sort(key=lambda j: (j.status != JobStatus.RUNNING, j.queue_position or 0, j.created_at))
    finished = Paginator(mine.filter(status__in=FINISHED_STATUSES).order_by("-finished_at", "-created_at"),
                         FINISHED_PER_PAGE).get_page(request.GET.get("page"))
    roles = roles_by_team(user=request.user)
    for job in [*active, *finished.object_list]:
        membership = roles.get(job.project.team_id)
        job.can_write = bool(membership and membership.can_write)  # type: ignore[attr-defined]
    query = request.GET.urlencode()
    return {"active": active, "finished": finished, "poll_query": query,
            "next_url": reverse("queue") + (f"?{query}" if query else "")}


@login_required
def my_queue(request: HttpRequest) -> HttpResponse:
    context = _queue_context(request)
    if request.headers.get("HX-Request"):
        return render(request, "transcription/partials/queue_jobs.html", context)
    return render(request, "transcription/queue.html", context)


@login_required
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_job_for_user(request.user, job_id)
    jobs_with_queue_info([job])
    attempts = list(job.attempt_log.all())
    for attempt in attempts:
        attempt.outcome_label = OUTCOME_LABELS.get(attempt.outcome, attempt.outcome)
    context = {"job": job, "project": job.project, "membership": job.membership, "attempts": attempts}
    if request.headers.get("HX-Request"):
        return render(request, "transcription/partials/job_status.html", context)
    return render(request, "transcription/job_detail.html", context)


def _back(request: HttpRequest, job) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("project", project_id=job.project_id)


def _job_command(request: HttpRequest, job_id: str, command, done: Callable[[Job], str]) -> HttpResponse:
    job = get_job_for_user(request.user, job_id, write=True)
    try:
        job = command(job=job, user=request.user)
    except JobStateError as e:
        if wants_json(request) or request.headers.get("HX-Request"):
            return JsonResponse({"detail": str(e), "status": job.status}, status=409)
        messages.error(request, str(e))
        return _back(request, job)
    if wants_json(request):
        return JsonResponse({"id": str(job.pk), "status": job.status, "cancel_requested": job.cancel_requested})
    messages.success(request, done(job))
    return _back(request, job)


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, job_id: str) -> HttpResponse:
    def done(job: Job) -> str:
        if job.status == JobStatus.CANCELLED:
            return _("%(name)s is cancelled.") % {"name": job.media.original_name}
        return _("%(name)s will stop at the next segment.") % {"name": job.media.original_name}

    return _job_command(request, job_id, job_cancel, done)


@login_required
@require_POST
def job_retry_view(request: HttpRequest, job_id: str) -> HttpResponse:
    return _job_command(request, job_id, job_retry,
                        lambda job: _("%(name)s is queued again.") % {"name": job.media.original_name})
