"""My queue (every job of mine, live), a job's page, and cancel/retry."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.actor import Actor
from portal.middleware import safe_next, wants_json
from portal.models import Membership
from portal.pagination import page_with_count
from transcription import job_states
from transcription.access import get_job_for_user
from transcription.models import Job
from transcription.services.job_actions import job_cancel, job_history, job_retry
from transcription.services.queue import jobs_for_queue_page, jobs_with_queue_info, queue_schedule, with_my_role

ACTIVE_PER_PAGE = 25
FINISHED_PER_PAGE = 10


def _query_without(request: HttpRequest, param: str) -> str:
    query = request.GET.copy()
    query.pop(param, None)
    return query.urlencode()


def _queue_context(request: HttpRequest) -> dict:
    mine = jobs_for_queue_page(user=request.user)
    # Every active job of mine, as bare rows, to order them: running first, then by place in the
    # queue (one queued since the schedule was worked out goes last), oldest first among equals.
    schedule = queue_schedule()
    rows = (mine.filter(job_states.q_active()).order_by(Coalesce("started_at", "created_at"), "pk")
            .values_list("pk", "status"))
    unplaced = (len(schedule.places) + 1, None)
    order = sorted(rows, key=lambda r: (not job_states.is_running(SimpleNamespace(status=r[1])),
                                        schedule.places.get(r[0], unplaced)[0]))
    active_page = Paginator([r[0] for r in order], ACTIVE_PER_PAGE).get_page(request.GET.get("active"))
    full = with_my_role(mine, user=request.user).in_bulk(list(active_page.object_list))
    active = jobs_with_queue_info([full[pk] for pk in active_page.object_list if pk in full], schedule=schedule)
    finished = page_with_count(with_my_role(mine.filter(job_states.q_finished()), user=request.user)
                               .order_by("-finished_at", "-created_at"), FINISHED_PER_PAGE, request.GET.get("page"))
    for job in [*active, *finished.object_list]:
        job.can_write = Membership(role=job.my_role).can_write  # type: ignore[attr-defined]
    query = request.GET.urlencode()
    return {"active": active, "active_page": active_page, "finished": finished, "poll_query": query,
            "active_query": _query_without(request, "active"), "finished_query": _query_without(request, "page"),
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
    context = {"job": job, "project": job.project, "membership": job.membership,
               "attempts": list(job.attempt_log.all()), "history": list(job_history(job=job))}
    if request.headers.get("HX-Request"):
        return render(request, "transcription/partials/job_status.html", context)
    return render(request, "transcription/job_detail.html", context)


def _job_command(request: HttpRequest, job_id: str, command, done: Callable[[Job], str]) -> HttpResponse:
    job = get_job_for_user(request.user, job_id, write=True)
    job = command(actor=Actor.from_request(request), job=job)
    if wants_json(request):
        return JsonResponse({"id": str(job.pk), "status": job.status, "cancel_requested": job.cancel_requested})
    messages.success(request, done(job))
    return redirect(safe_next(request, request.POST.get("next")) or reverse("project", args=[job.project_id]))


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, job_id: str) -> HttpResponse:
    def done(job: Job) -> str:
        if job.is_finished:
            return _("%(name)s is cancelled.") % {"name": job.media.original_name}
        return _("%(name)s will stop at the next segment.") % {"name": job.media.original_name}

    return _job_command(request, job_id, job_cancel, done)


@login_required
@require_POST
def job_retry_view(request: HttpRequest, job_id: str) -> HttpResponse:
    return _job_command(request, job_id, job_retry,
                        lambda job: _("%(name)s is queued again.") % {"name": job.media.original_name})
