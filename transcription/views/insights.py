"""The Insights panel of the transcript page: ask for summaries, action items, decisions, chapters,
a written version, a template's result or an answer; cancel and retry; polled while one runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from portal.actor import Actor
from portal.errors import DomainError
from transcription.access import get_transcript_for_user
from transcription.actions import insights as actions
from transcription.llm.config import llm_missing_settings
from transcription.models import Insight, InsightTemplate, Question, Transcript
from transcription.queries.insights import (
    BUILT_IN_KINDS,
    any_running,
    insights_for_transcript,
    insights_unavailable_reason,
    llm_usage_for_team,
    questions_for_transcript,
)
from transcription.services.exports import transcript_chapters_export

INVALID_IN_PLACE = 422
# Output languages offered on the page ("": the transcript's); each is a key of prompts.LANGUAGE_NAMES.
LANGUAGE_CHOICES = [("", None), ("zh", "中文"), ("en", "English"), ("ja", "日本語"), ("ko", "한국어"),
                    ("fr", "Français"), ("de", "Deutsch"), ("es", "Español")]


def insights_panel(*, request: HttpRequest, transcript: Transcript, error: str = "") -> dict[str, Any]:
    """What partials/transcript_insights.html shows."""
    membership = transcript.membership  # type: ignore[attr-defined]
    reason = insights_unavailable_reason(transcript=transcript)
    usage = llm_usage_for_team(team=transcript.job.project.team_id)
    return {
        "insights_reason": reason,
        "insights_missing_settings": llm_missing_settings() if request.user.is_staff else [],
        "insights": insights_for_transcript(transcript=transcript),
        "insight_questions": questions_for_transcript(transcript=transcript, limit=5),
        "insight_templates": list(InsightTemplate.objects.filter(project=transcript.job.project_id)),
        "insight_kinds": [(k.value, k.label) for k in BUILT_IN_KINDS],
        "insight_languages": LANGUAGE_CHOICES,
        "insights_running": any_running(transcript=transcript),
        "insights_can_run": membership.can_write and not reason,
        "insights_can_manage": membership.can_manage,
        "insights_usage": usage,
        "insights_error": error,
    }


def _panel(request: HttpRequest, transcript: Transcript, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {"transcript": transcript} | insights_panel(request=request, transcript=transcript, error=error)
    return render(request, "transcription/partials/transcript_insights.html", context, status=status)


def _answer(request: HttpRequest, transcript: Transcript, error: str, status: int) -> HttpResponse:
    if request.headers.get("HX-Request") == "true":
        return _panel(request, transcript, error=error, status=status)
    if error:
        messages.error(request, error)
    return redirect(reverse("transcript", args=[transcript.pk]) + "#insights")


def _do(request: HttpRequest, transcript: Transcript, action: Any) -> HttpResponse:
    try:
        action(Actor.from_request(request))
    except DomainError as e:
        # A refusal the person can act on, shown in the panel (422 so htmx swaps it in).
        code = e.status
        return _answer(request, transcript, e.message, INVALID_IN_PLACE if code in (400, 409) else code)
    return _answer(request, transcript, "", 200)


@login_required
@require_GET
def insights_card(request: HttpRequest, transcript_id: str) -> HttpResponse:
    return _panel(request, get_transcript_for_user(request.user, transcript_id))


@login_required
@require_POST
def insight_create(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    kind = request.POST.get("kind", "")
    return _do(request, transcript, lambda actor: actions.insight_request(
        actor=actor, transcript=transcript, kind=kind, template=request.POST.get("template") or None,
        language=request.POST.get("language", "")))


@login_required
@require_POST
def question_create(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    return _do(request, transcript, lambda actor: actions.question_ask(
        actor=actor, transcript=transcript, question=request.POST.get("question", ""),
        language=request.POST.get("language", "")))


def _row(transcript: Transcript, model: str, pk: int) -> Insight | Question:
    found = {"insight": Insight, "question": Question}.get(model)
    row = found.objects.filter(pk=pk, transcript=transcript).first() if found else None
    if row is None:
        raise Http404("Not found")
    return row


@login_required
@require_POST
def llm_request_command(request: HttpRequest, transcript_id: str, model: str, pk: int, command: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    row = _row(transcript, model, pk)
    action = {"cancel": actions.llm_request_cancel, "retry": actions.llm_request_retry}.get(command)
    if action is None:
        raise Http404("Not found")
    return _do(request, transcript, lambda actor: action(actor=actor, row=row))


@login_required
@require_POST
def template_create(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    return _do(request, transcript, lambda actor: actions.insight_template_create(
        actor=actor, project=transcript.job.project, name=request.POST.get("name", ""),
        prompt=request.POST.get("prompt", "")))


@login_required
@require_POST
def template_update(request: HttpRequest, transcript_id: str, pk: int) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    template = _template(transcript, pk)
    return _do(request, transcript, lambda actor: actions.insight_template_update(
        actor=actor, template=template, name=request.POST.get("name", ""), prompt=request.POST.get("prompt", "")))


def _template(transcript: Transcript, pk: int) -> InsightTemplate:
    template = InsightTemplate.objects.filter(pk=pk, project=transcript.job.project_id).first()
    if template is None:
        raise Http404("Not found")
    return template


@login_required
@require_POST
def template_delete(request: HttpRequest, transcript_id: str, pk: int) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    template = _template(transcript, pk)
    return _do(request, transcript, lambda actor: actions.insight_template_delete(actor=actor, template=template))


@login_required
@require_GET
def chapters_track(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id)
    exported = transcript_chapters_export(actor=Actor.from_request(request), transcript=transcript)
    if exported is None:
        raise Http404("No chapters yet")
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = content_disposition_header(True, exported.filename)
    return response
