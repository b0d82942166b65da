"""Downloads: one transcript in a chosen format, and project ZIP exports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.access import get_project_for_user, parse_uuid
from portal.actor import Actor
from transcription.access import get_transcript_for_user
from transcription.models import ExportStatus, ProjectExport
from transcription.services.export_notices import project_export_downloaded, project_exports_unseen
from transcription.services.exports import FORMAT_CHOICES, ExportError, ExportOptions, transcript_export
from transcription.services.filenames import content_disposition
from transcription.services.project_exports import (
    project_export_filename,
    project_export_request,
    project_transcripts,
)


@login_required
@require_GET
def transcript_download(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id)
    fmt = request.GET.get("format", "txt")
    try:
        options = ExportOptions.from_query(request.GET)
        exported = transcript_export(actor=Actor.from_request(request), transcript=transcript, format=fmt,
                                     options=options)
    except ExportError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = content_disposition(exported.filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _exports_context(request: HttpRequest, project) -> dict[str, object]:  # noqa: ANN001
    exports = list(project.exports.select_related("requested_by")[:10])
    ready = list(project_exports_unseen(user=request.user, project=project)[:3])
    return {
        "ready_exports": ready,
        # ?download=<id> right after a ZIP was built during the request: the page starts it (once: a
        # downloaded export is no longer unseen), and its list already shows the new export
        "start_download": next((e for e in ready if str(e.pk) == request.GET.get("download")), None),
        "project": project,
        "membership": project.membership,
        "exports": exports,
        "pending": any(e.is_pending for e in exports),
        "export_formats": FORMAT_CHOICES,
        "transcript_count": project_transcripts(project=project).count(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_exports(request: HttpRequest, project_id: str) -> HttpResponse:
    """The project's ZIP exports; POST asks for a new one. Viewers may export."""
    project = get_project_for_user(request.user, project_id)
    if request.method == "POST":
        fmt = request.POST.get("format", "")
        try:
            export = project_export_request(actor=Actor.from_request(request), project=project, format=fmt,
                                            options=ExportOptions.from_query(request.POST))
        except ExportError as exc:
            messages.error(request, exc.message)
        else:
            if export.is_ready:
                # Built while the person waited: the page it goes back to starts the download, no second click
                return redirect(f"{reverse('project_exports', args=[project.pk])}?download={export.pk}")
            if export.status == ExportStatus.FAILED:
                messages.error(request, export.error)
            else:
                messages.info(request, _("Your export is being prepared; this page updates when it is ready."))
        return redirect("project_exports", project_id=project.pk)
    context = _exports_context(request, project)
    if request.headers.get("HX-Request") == "true":
        return render(request, "transcription/partials/project_exports_list.html", context)
    return render(request, "transcription/project_exports.html", context)


@login_required
@require_GET
def project_export_download(request: HttpRequest, export_id: str) -> HttpResponse:
    export = ProjectExport.objects.select_related("project").filter(pk=parse_uuid(export_id)).first()
    if export is None:
        raise Http404("Not found")
    get_project_for_user(request.user, export.project_id)  # outside the user's teams: 404
    if not export.is_ready:
        raise Http404("Not found")
    return _download(request, export)


def _download(request: HttpRequest, export: ProjectExport) -> HttpResponse:
    try:
        handle = export.file.open("rb")
    except OSError:
        raise Http404("Not found") from None
    project_export_downloaded(actor=Actor.from_request(request), export=export)
    response = FileResponse(handle, content_type="application/zip")
    response["Content-Disposition"] = content_disposition(project_export_filename(export=export))
    response["Cache-Control"] = "private, no-store"
    return response
