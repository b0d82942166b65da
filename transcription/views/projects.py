"""Pages of the work side: a project's files and jobs, uploads, retry all failed."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from portal.access import get_project_for_user, get_team_for_user
from portal.actor import Actor
from portal.middleware import wants_json
from portal.pagination import page_with_count
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.services.accuracy import percent, project_accuracy, team_accuracy
from transcription.services.export_notices import project_exports_unseen
from transcription.services.job_actions import jobs_retry_failed, q_failed_retryable_by
from transcription.services.job_options import upload_choices
from transcription.services.queue import jobs_for_rows, jobs_with_queue_info
from transcription.services.upload_parts import upload_parts_unreadable
from transcription.services.upload_rejections import KEEP as KEEP_REJECTIONS
from transcription.services.upload_rejections import upload_rejections_clear, upload_rejections_recent
from transcription.services.uploads import max_upload_bytes, upload_handlers_install, uploads_accept

JOBS_PER_PAGE = 25
STATUS_FILTERS = ("active", *JobStatus.values)


def _jobs_context(request: HttpRequest, project) -> dict:
    jobs = jobs_for_rows(project.jobs.all()).order_by("-created_at", "-pk")
    status = request.GET.get("status", "")
    if status == "active":
        jobs = jobs.filter(job_states.q_active())
    elif status in JobStatus.values:
        jobs = jobs.filter(job_states.q_status(status))
    else:
        status = ""
    page = page_with_count(jobs, JOBS_PER_PAGE, request.GET.get("page"))
    jobs_with_queue_info(page.object_list)
    counts = project.jobs.aggregate(active=Count("pk", filter=job_states.q_active()),
                                    failed=Count("pk", filter=q_failed_retryable_by(Actor.from_request(request))))
    query = request.GET.urlencode()
    return {
        "project": project,
        "membership": project.membership,
        "page": page,
        "jobs": page.object_list,
        "status_filter": status,
        "status_choices": JobStatus.choices,
        "any_active": counts["active"] > 0,
        "n_failed": counts["failed"],
        "poll_query": query,
        "next_url": reverse("project", args=[project.pk]) + (f"?{query}" if query else ""),
    }


@login_required
def project_detail(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id)
    context = _jobs_context(request, project)
    context["max_upload_mb"] = settings.MAX_UPLOAD_MB
    context["max_upload_bytes"] = max_upload_bytes()
    context["upload_choices"] = upload_choices(project=project)
    context["rejections"] = list(upload_rejections_recent(project=project)[:KEEP_REJECTIONS])
    context["ready_exports"] = list(project_exports_unseen(user=request.user, project=project)[:3])
    return render(request, "transcription/project_detail.html", context)


@login_required
def project_accuracy_card(request: HttpRequest, project_id: str) -> HttpResponse:
    """The project page's accuracy card, loaded after the page (it reads every approved transcript)."""
    project = get_project_for_user(request.user, project_id)
    accuracy = project_accuracy(project=project)
    rates = {"all": percent(accuracy["error_rate"]),
             **{key: [{**row, "rate": percent(row["error_rate"])} for row in accuracy[key]]
                for key in ("by_preset", "by_month", "worst")}}
    return render(request, "transcription/partials/project_accuracy.html",
                  {"project": project, "accuracy": accuracy, "rates": rates})


@login_required
def team_accuracy_card(request: HttpRequest, team_id: str) -> HttpResponse:
    """The team page's accuracy card: every project's approved transcripts together, and each project."""
    team = get_team_for_user(request.user, team_id)
    accuracy = team_accuracy(team=team)
    rates = {"all": percent(accuracy["error_rate"]),
             "by_project": [{**row, "rate": percent(row["error_rate"])} for row in accuracy["by_project"]]}
    return render(request, "transcription/partials/team_accuracy.html", {"team": team, "accuracy": accuracy,
                                                                          "rates": rates})


@login_required
def project_jobs(request: HttpRequest, project_id: str) -> HttpResponse:
    """The jobs table alone, polled by htmx while something is active."""
    project = get_project_for_user(request.user, project_id)
    return render(request, "transcription/partials/project_jobs.html", _jobs_context(request, project))


@csrf_exempt
@login_required
@require_POST
def project_upload(request: HttpRequest, project_id: str) -> HttpResponse:
    # The size limit handler must be installed before anything reads the
    # body, and CSRF's check reads it: so CSRF is checked inside, after.
    upload_handlers_install(request)
    return _project_upload(request, project_id)


@csrf_protect
def _project_upload(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, write=True)
    files = request.FILES.getlist("files")
    unreadable = upload_parts_unreadable(request)
    if not files and not unreadable:
        if wants_json(request):
            return JsonResponse({"detail": _("Choose one or more files."), "jobs": [], "rejected": []}, status=400)
        messages.error(request, _("Choose one or more files."))
        return redirect("project", project_id=project.pk)
    result = uploads_accept(actor=Actor.from_request(request), project=project, files=files,
                            urgent=request.POST.get("urgent") in ("1", "on", "true"),
                            preset=request.POST.get("preset") or None, speakers=request.POST.get("speakers") or None,
                            hotwords=request.POST.get("hotwords") or None, unreadable=unreadable)
    if wants_json(request):
        return JsonResponse({
            "jobs": [{"id": str(job.pk), "filename": job.media.original_name, "status": job.status}
                     for job in result.jobs],
            "rejected": [{"filename": r.filename, "error": r.error} for r in result.rejected],
        }, status=201 if result.jobs else 400)
    if result.jobs:
        messages.success(request, ngettext(
            "%(n)d file added to the queue.", "%(n)d files added to the queue.", len(result.jobs)
        ) % {"n": len(result.jobs)})
    if result.rejected:
        # The reasons stay listed on the project page ("Not added"), so the message only points there.
        messages.error(request, ngettext(
            "%(n)d file was not added; the reason is listed under “Not added”.",
            "%(n)d files were not added; the reasons are listed under “Not added”.", len(result.rejected)
        ) % {"n": len(result.rejected)})
    return redirect("project", project_id=project.pk)


@login_required
@require_POST
def project_rejections_clear(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, write=True)
    upload_rejections_clear(actor=Actor.from_request(request), project=project)
    messages.success(request, _("The list of files not added was cleared."))
    return redirect("project", project_id=project.pk)


@login_required
@require_POST
def project_retry_failed(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, write=True)
    count = jobs_retry_failed(actor=Actor.from_request(request), project=project)
    if count:
        messages.success(request, ngettext(
            "%(n)d failed job is queued again.", "%(n)d failed jobs are queued again.", count) % {"n": count})
    else:
        messages.info(request, _("There are no failed jobs to retry."))
    return redirect("project", project_id=project.pk)

