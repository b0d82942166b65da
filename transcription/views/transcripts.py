"""The transcript workspace: the page, inline segment edits (htmx), segment
history and restore, speaker names and the review workflow."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.actor import Actor
from portal.errors import Invalid
from transcription import review_states
from transcription.access import get_transcript_for_user
from transcription.models import ReviewStatus, Segment, Transcript
from transcription.services import review
from transcription.services.cues import word_spans
from transcription.services.exports import FORMAT_CHOICES
from transcription.services.glossary import correction_of
from transcription.services.itn import itn_enabled, segment_shown
from transcription.services.speakers import (
    speaker_colours,
    speakers_embeddings,
    speakers_panel,
    speakers_recluster_request,
)
from transcription.views.insights import insights_panel

# Bad input on the page is answered 422, which transcript.js shows in place
# (a 400 would be taken for a broken request).
INVALID_IN_PLACE = 422

def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _can_edit(transcript: Transcript) -> bool:
    return review_states.may_edit(transcript, transcript.membership)  # type: ignore[attr-defined]


def _decorate(request: HttpRequest, transcript: Transcript, segments: list[Segment],
              colours: dict[str, int] | None = None) -> list[Segment]:
    """Attach what the segment template shows: display name, colour, the
    text as shown (numbers as digits where the project wants them) and, where
    the model's word times fit that text, its words."""
    colours = colours if colours is not None else speaker_colours(transcript=transcript)
    itn = _numbers_as_digits(request, transcript)
    for segment in segments:
        segment.speaker_name = transcript.speaker_label(segment.speaker) if segment.speaker else ""
        segment.colour = colours.get(segment.speaker, 0)
        segment.shown = segment_shown(segment, itn=itn)
        spans = word_spans(segment.text, segment.words) if segment.words and segment.shown == segment.text else None
        segment.word_pieces = [(segment.text[a:b], start, end) for a, b, start, end in spans] if spans else []
    return segments


def _numbers_as_digits(request: HttpRequest, transcript: Transcript) -> bool:
    """The page's Numbers switch (remembered for this transcript in the session), else the project's choice."""
    key = f"numbers:{transcript.pk}"
    choice = request.GET.get("numbers")
    if choice in ("digits", "spoken"):
        request.session[key] = choice
    choice = request.session.get(key)
    return choice == "digits" if choice in ("digits", "spoken") else itn_enabled(transcript=transcript)


def _segments(transcript: Transcript) -> QuerySet[Segment]:
    return transcript.segments.annotate(n_revisions=Count("revisions")).order_by("index")


def _segment(request: HttpRequest, transcript: Transcript, index: int) -> Segment:
    segment = _segments(transcript).filter(index=index).first()
    if segment is None:
        raise Http404("Not found")
    return _decorate(request, transcript, [segment])[0]


def _transcript_url(transcript: Transcript, index: int | None = None) -> str:
    url = reverse("transcript", args=[transcript.pk])
    return f"{url}#seg-{index}" if index is not None else url


def _hotword_offer(transcript: Transcript, before: str, after: str) -> str:
    """The phrase an edit put in, if it is worth offering as a project hotword."""
    pair = correction_of(before, after)
    if pair is None or pair[1] in (transcript.job.project.hotwords or []):
        return ""
    return pair[1]


def _segment_response(request: HttpRequest, transcript: Transcript, segment: Segment, *,
                      error: str = "", status: int = 200, offer: str = "") -> HttpResponse:
    return render(request, "transcription/partials/transcript_segment.html", {
        "transcript": transcript, "seg": segment, "can_edit": _can_edit(transcript), "error": error,
        "offer": offer,
    }, status=status)


def _form_response(request: HttpRequest, transcript: Transcript, segment: Segment, *, text: str,
                   base: str, error: str = "", status: int = 200) -> HttpResponse:
    context = {"transcript": transcript, "seg": segment, "text": text, "base": base, "error": error}
    template = ("transcription/partials/transcript_segment_form.html" if _is_htmx(request)
                else "transcription/transcript_segment_edit.html")
    return render(request, template, context, status=status)


@login_required
@require_GET
def transcript_detail(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id)
    membership = transcript.membership  # type: ignore[attr-defined]
    actor = Actor.from_request(request)
    review.transcript_viewed(actor=actor, transcript=transcript)
    colours = speaker_colours(transcript=transcript)
    segments = _decorate(request, transcript, list(_segments(transcript)), colours)
    return render(request, "transcription/transcript.html", speakers_panel(transcript=transcript, colours=colours) | {
        "transcript": transcript,
        "job": transcript.job,
        "media": transcript.job.media,
        "project": transcript.job.project,
        "membership": membership,
        "segments": segments,
        "can_edit": _can_edit(transcript),
        "locked": review_states.is_locked(transcript),
        "review_progress": review_states.progress(transcript),
        "review_steps": review.review_steps(actor=actor, transcript=transcript, membership=membership),
        "review_hint": review_states.blocked_hint(transcript=transcript, user=request.user, membership=membership,
                                                  second_person=membership.team.review_second_person),
        "reviewers": review.review_reviewers(actor=actor, transcript=transcript) if membership.can_write else [],
        "export_formats": FORMAT_CHOICES,
        "query": request.GET.get("q", "")[:200],
        # The Numbers switch shows where it changes something: a segment whose digits differ.
        "numbers_switch": any(s.text_itn and s.text_itn != s.text for s in segments),
        "numbers_as_digits": _numbers_as_digits(request, transcript),
    } | insights_panel(request=request, transcript=transcript))


@login_required
@require_http_methods(["GET", "POST"])
def segment_detail(request: HttpRequest, transcript_id: str, index: int) -> HttpResponse:
    """GET: the segment as shown in the list (used by Cancel).
    POST: save an edit and answer with the updated segment."""
    if request.method == "GET":
        transcript = get_transcript_for_user(request.user, transcript_id)
        return _segment_response(request, transcript, _segment(request, transcript, index))
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    segment = _segment(request, transcript, index)
    shown_before = segment.shown
    text = request.POST.get("text", "")
    base = request.POST.get("base")
    try:
        segment = review.segment_edit(actor=Actor.from_request(request), transcript=transcript, index=index,
                                      text=text, expected=base)
    except review.TranscriptLocked as exc:
        if not _is_htmx(request):
            messages.error(request, exc.message)
            return redirect(_transcript_url(transcript, index))
        return _segment_response(request, transcript, segment, error=exc.message, status=exc.status)
    except review.EditConflict as exc:
        current = _decorate(request, transcript, [exc.segment])[0]
        return _form_response(request, transcript, current, text=text, base=current.shown,
                              error=exc.message, status=exc.status)
    except review.SegmentInvalid as exc:
        return _form_response(request, transcript, segment, text=text, base=base or segment.shown,
                              error=exc.message, status=INVALID_IN_PLACE)
    if not _is_htmx(request):
        return redirect(_transcript_url(transcript, index))
    return _segment_response(request, transcript, _segment(request, transcript, segment.index),
                             offer=_hotword_offer(transcript, shown_before, segment.text))


@login_required
@require_GET
def segment_edit_form(request: HttpRequest, transcript_id: str, index: int) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    segment = _segment(request, transcript, index)
    if transcript.is_approved:
        message = review.TranscriptLocked().message
        if not _is_htmx(request):
            messages.error(request, message)
            return redirect(_transcript_url(transcript, index))
        return _segment_response(request, transcript, segment, error=message, status=409)
    return _form_response(request, transcript, segment, text=segment.shown, base=segment.shown)


def _revisions_context(transcript: Transcript, segment: Segment) -> dict[str, object]:
    revisions = list(segment.revisions.select_related("author", "restored_from"))
    return {
        "transcript": transcript,
        "seg": segment,
        "revisions": revisions,
        # The machine transcript's text: what the oldest revision replaced.
        "original": revisions[-1] if revisions else None,
        "can_edit": _can_edit(transcript),
    }


@login_required
@require_GET
def segment_revisions(request: HttpRequest, transcript_id: str, index: int) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id)
    segment = _segment(request, transcript, index)
    context = _revisions_context(transcript, segment)
    if _is_htmx(request):
        return render(request, "transcription/partials/transcript_revisions.html", context)
    return render(request, "transcription/transcript_revisions_page.html", context)


@login_required
@require_POST
def revision_restore(request: HttpRequest, transcript_id: str, revision_id: int) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    revision = transcript.revisions.select_related("segment").filter(pk=revision_id).first()
    if revision is None:
        raise Http404("Not found")
    revision.transcript = transcript
    index = revision.segment.index
    try:
        review.revision_restore(actor=Actor.from_request(request), revision=revision,
                                original=request.POST.get("original") == "1")
    except review.TranscriptLocked as exc:
        if not _is_htmx(request):
            messages.error(request, exc.message)
            return redirect(_transcript_url(transcript, index))
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    if not _is_htmx(request):
        messages.success(request, _("Version restored."))
        return redirect(_transcript_url(transcript, index))
    segment = _segment(request, transcript, index)
    context = _revisions_context(transcript, segment) | {"oob_segment": True}
    return render(request, "transcription/partials/transcript_revisions.html", context)


@login_required
@require_POST
def speakers_rename(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    speaker = request.POST.get("speaker", "")
    error = ""
    status = 200
    name = ""
    try:
        name = review.speakers_rename(actor=Actor.from_request(request), transcript=transcript, speaker=speaker,
                                      name=request.POST.get("name", ""))
    except review.TranscriptLocked as exc:
        error, status = exc.message, exc.status
    except review.SegmentInvalid as exc:
        error, status = exc.message, INVALID_IN_PLACE
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect(_transcript_url(transcript))
    response = _speakers_card(request, transcript, error=error, status=status)
    if not error:
        response["HX-Trigger"] = json.dumps({"speaker-renamed": {"speaker": speaker, "name": name}})
    return response


def _speakers_card(request: HttpRequest, transcript: Transcript, *, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "transcription/partials/transcript_speakers.html", speakers_panel(transcript=transcript) | {
        "transcript": transcript, "can_edit": _can_edit(transcript), "speaker_error": error,
    }, status=status)


@login_required
@require_POST
def speakers_recluster(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    error, status = "", 200
    try:
        speakers_recluster_request(actor=Actor.from_request(request), transcript=transcript,
                                   speakers=request.POST.get("speakers", ""))
    except (review.TranscriptLocked, Invalid) as exc:
        error, status = exc.message, exc.status if isinstance(exc, review.TranscriptLocked) else INVALID_IN_PLACE
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        else:
            messages.info(request, _("Speakers are being re-clustered; this takes a few seconds."))
        return redirect(_transcript_url(transcript))
    return _speakers_card(request, transcript, error=error, status=status)


@login_required
@require_GET
def speakers_card(request: HttpRequest, transcript_id: str) -> HttpResponse:
    """The Speakers card, polled while a re-clustering is pending; once it is
    done, the page reloads so every segment shows its new speaker."""
    transcript = get_transcript_for_user(request.user, transcript_id)
    stored = speakers_embeddings(transcript=transcript)
    if stored is not None and not stored.requested and request.GET.get("pending"):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return _speakers_card(request, transcript)


@login_required
@require_POST
def review_status(request: HttpRequest, transcript_id: str) -> HttpResponse:
    transcript = get_transcript_for_user(request.user, transcript_id, write=True)
    status = request.POST.get("status", "")
    review.review_status_set(actor=Actor.from_request(request), transcript=transcript, status=status,
                             reviewer=request.POST.get("reviewer", ""))  # a refusal: the middleware's message
    messages.success(request, _("Review status: %(status)s.") % {"status": ReviewStatus(status).label})
    return redirect(_transcript_url(transcript))

