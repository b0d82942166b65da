"""A project's glossary (hotwords, suggestions learnt from corrections) and
find & replace, across the project or within one transcript."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import get_project_for_user
from portal.actor import Actor
from portal.errors import DomainError
from portal.middleware import safe_next
from transcription.access import get_transcript_for_user
from transcription.models import Transcript
from transcription.services.glossary import (
    glossary_suggestions,
    project_hotwords_add,
    replace_apply,
    replace_preview,
)
from transcription.services.project_exports import project_transcripts


def _replace(request: HttpRequest, *, transcripts: QuerySet[Transcript], context: dict, template: str,
             back: str) -> HttpResponse:
    """GET: the form; POST: a preview, or (with apply) the replacement."""
    find, replace = request.POST.get("find", ""), request.POST.get("replace", "")
    context.update({"find": find, "replace": replace, "preview": None, "error": ""})
    if request.method == "POST":
        try:
            if request.POST.get("apply") == "1":
                result = replace_apply(actor=Actor.from_request(request), transcripts=transcripts, find=find,
                                       replace=replace)
                text = ngettext("Replaced in %(n)d segment.", "Replaced in %(n)d segments.", result.segments) % {
                    "n": result.segments}
                if result.locked:
                    text += " " + ngettext("%(n)d approved transcript was left alone.",
                                           "%(n)d approved transcripts were left alone.", result.locked) % {
                        "n": result.locked}
                messages.success(request, text)
                return redirect(back)
            context["preview"] = replace_preview(transcripts=transcripts, find=find, replace=replace)
        except DomainError as e:
            context["error"] = e.message
            return render(request, template, context, status=e.status)
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def project_glossary(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, write=request.method == "POST")
    context = {"project": project, "membership": project.membership,
               "suggestions": glossary_suggestions(project=project),
               "scope_url": reverse("project_glossary", args=[project.pk])}
    return _replace(request, transcripts=project_transcripts(project=project), context=context,
                    template="transcription/glossary.html", back=reverse("project_glossary", args=[project.pk]))


@login_required
@require_POST
def project_hotwords_add_view(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, write=True)
    added = project_hotwords_add(actor=Actor.from_request(request), project=project,
                                 words=request.POST.get("word", ""))
    if request.headers.get("HX-Request"):
        return render(request, "transcription/partials/hotword_added.html", {"added": added, "project": project})
    if added:
        messages.success(request, _("Added to the project's hotwords: %(words)s. New uploads use them.") % {
            "words": ", ".join(added)})
    else:
        messages.info(request, _("That is already a hotword of this project."))
    return redirect(safe_next(request, request.POST.get("next")) or reverse("project_glossary", args=[project.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def transcript_replace(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    project = transcript.job.project
    context = {"project": project, "membership": transcript.membership, "transcript": transcript,
               "scope_url": reverse("transcript_replace", args=[transcript.pk])}
    return _replace(request, transcripts=Transcript.objects.filter(pk=transcript.pk), context=context,
                    template="transcription/replace.html", back=reverse("transcript", args=[transcript.pk]))
