"""Pages of the work side: project files and jobs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import get_project_for_user


@login_required
def project_detail(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id)
    jobs = project.jobs.select_related("media", "created_by").order_by("-created_at")
    return render(request, "transcription/project_detail.html", {
        "project": project,
        "membership": project.membership,
        "jobs": jobs,
    })
