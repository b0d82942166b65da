"""Correcting transcripts: segment edits recorded as revisions, restoring a
revision, renaming speakers, and moving a transcript through the review
workflow (whose rules are review_states')."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.access import authorize
from portal.actor import Actor
from portal.errors import Conflict, Invalid, NotAllowed, NotFound
from portal.inputs import TEXT_MESSAGE, text_refused
from portal.models import WRITE_ROLES, AuditAction, Membership
from portal.services.audit import audit_record, audit_record_visit
from transcription import review_states
from transcription.models import ReviewStatus, Revision, Segment, Transcript
from transcription.services.itn import itn_enabled, segment_digits, segment_shown
from transcription.services.notifications import review_request_email
from transcription.text import join_texts

MAX_SEGMENT_CHARS = 5000
MAX_SPEAKER_NAME_CHARS = 64

class TranscriptLocked(Conflict):
    """The transcript is approved: no edits until an owner or admin reopens it."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or str(review_states.LOCKED))


class EditConflict(Conflict):
    """Someone else changed the segment after the editor loaded it."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        super().__init__(_("Someone else changed this segment while you were editing it. "
                           "Their version is shown below; apply your change again."))


class ReviewTransitionError(Invalid):
    """A review status change that the workflow does not allow."""


class SegmentInvalid(Invalid):
    """Text or a speaker name the editor cannot take (too long, unknown speaker)."""


class SegmentMissing(NotFound):
    """No segment with that index."""


def _check_unlocked(transcript: Transcript) -> None:
    if review_states.is_locked(transcript):
        raise TranscriptLocked()


def _locked_transcript(transcript: Transcript) -> Transcript:
    """Re-read the transcript inside the transaction so a concurrent approve
    cannot slip between the lock check and the write."""
    fresh = Transcript.objects.select_for_update().get(pk=transcript.pk)
    transcript.review_status = fresh.review_status
    transcript.speaker_names = fresh.speaker_names
    return transcript


def transcript_text_rebuild(*, transcript: Transcript) -> None:
    texts = transcript.segments.order_by("index").values_list("text", flat=True)
    transcript.text = join_texts(texts)
    transcript.save(update_fields=["text", "updated_at"])


def _refuse_control_characters(*texts: str) -> None:
    if any(text_refused(text or "") for text in texts):
        raise SegmentInvalid(TEXT_MESSAGE)


def _normalise(text: str, *, check: bool = True) -> str:
    if check:
        _refuse_control_characters(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_SEGMENT_CHARS:
        raise SegmentInvalid(_("A segment can hold at most %(n)d characters.") % {"n": MAX_SEGMENT_CHARS})
    return text


def _set_segment_text(*, actor: Actor, transcript: Transcript, segment: Segment, text: str,
                      restored_from: Revision | None, audit: bool = True) -> Segment:
    before = segment.text
    if text == before:
        return segment
    machine = segment.revisions.order_by("created_at", "id").values_list("before", flat=True).first()
    segment.text = text
    # Back to what the model said: digits as the model's text gets them. Anything else is a
    # person's text, kept as typed; its word times no longer fit it.
    segment.verbatim = text != (machine if machine is not None else before)
    segment.text_itn = text if segment.verbatim else segment_digits(text)
    segment.words = [] if segment.verbatim else segment.words
    segment.save(update_fields=["text", "text_itn", "verbatim", "words"])
    Revision.objects.create(
        transcript=transcript, segment=segment, author=actor.user,
        before=before, after=text, restored_from=restored_from,
    )
    transcript_text_rebuild(transcript=transcript)
    if audit:
        detail = {"segment": segment.index}
        if restored_from is not None:
            detail["restored_revision"] = restored_from.pk
        audit_record(actor=actor, action=AuditAction.TRANSCRIPT_EDIT, team=transcript.job.project.team,
                     obj=transcript, detail=detail)
    return segment


def segment_replace_text(*, actor: Actor, transcript: Transcript, index: int, find: str, replace: str) -> bool:
    """Replace ``find`` in one segment's shown text (a revision; the caller
    writes one audit record for the whole replace). False if nothing changed."""
    with transaction.atomic():
        _check_unlocked(_locked_transcript(transcript))
        segment = transcript.segments.filter(index=index).first()
        if segment is None:
            return False
        shown = segment_shown(segment, itn=itn_enabled(transcript=transcript))
        if find not in shown:
            return False
        _set_segment_text(actor=actor, transcript=transcript, segment=segment, text=shown.replace(find, replace),
                          restored_from=None, audit=False)
    return True


def segment_edit(*, actor: Actor, transcript: Transcript, index: int, text: str,
                 expected: str | None = None) -> Segment:
    """Replace segment ``index``'s text and record a Revision. ``expected`` is
    the text the editor started from: if it changed meanwhile, EditConflict."""
    text = _normalise(text)
    with transaction.atomic():
        _check_unlocked(_locked_transcript(transcript))
        segment = transcript.segments.filter(index=index).first()
        if segment is None:
            raise SegmentMissing(_("Not found."))
        # The editor shows (and a person edits) the text as the page shows it.
        shown = segment_shown(segment, itn=itn_enabled(transcript=transcript))
        if text in (shown, segment.text):
            return segment
        if expected is not None and _normalise(expected, check=False) not in (shown, segment.text):
            raise EditConflict(segment)
        return _set_segment_text(actor=actor, transcript=transcript, segment=segment, text=text,
                                 restored_from=None)


def revision_restore(*, actor: Actor, revision: Revision, original: bool = False) -> Segment:
    """Put the segment back to the text this revision produced (or, with
    ``original``, the text it replaced). The restore is itself a revision."""
    transcript = revision.transcript
    with transaction.atomic():
        _check_unlocked(_locked_transcript(transcript))
        segment = Segment.objects.get(pk=revision.segment_id)
        text = revision.before if original else revision.after
        return _set_segment_text(actor=actor, transcript=transcript, segment=segment, text=text,
                                 restored_from=revision)


def transcript_speakers(*, transcript: Transcript) -> list[tuple[str, str]]:
    """(engine label, display name) for every speaker, in order of first appearance."""
    labels = (transcript.segments.exclude(speaker="").order_by("index").values_list("speaker", flat=True))
    seen: dict[str, str] = {}
    for label in labels:
        if label not in seen:
            seen[label] = transcript.speaker_label(label)
    return list(seen.items())


def speakers_rename(*, actor: Actor, transcript: Transcript, speaker: str, name: str) -> str:
    """Show ``speaker`` (an engine label) as ``name`` in every segment and
    export. An empty name goes back to the label. Returns the display name."""
    _refuse_control_characters(speaker, name)
    name = " ".join((name or "").split())
    if len(name) > MAX_SPEAKER_NAME_CHARS:
        raise SegmentInvalid(_("A speaker name can be at most %(n)d characters.") % {"n": MAX_SPEAKER_NAME_CHARS})
    with transaction.atomic():
        _check_unlocked(_locked_transcript(transcript))
        if not transcript.segments.filter(speaker=speaker).exists():
            raise SegmentInvalid(_("This transcript has no speaker %(speaker)s.") % {"speaker": speaker})
        names = dict(transcript.speaker_names or {})
        old = names.get(speaker, speaker)
        if name and name != speaker:
            names[speaker] = name
        else:
            names.pop(speaker, None)
        transcript.speaker_names = names
        transcript.save(update_fields=["speaker_names", "updated_at"])
        audit_record(actor=actor, action=AuditAction.TRANSCRIPT_EDIT, team=transcript.job.project.team,
                     obj=transcript, detail={"speaker": speaker, "from": old, "to": name or speaker})
    return transcript.speaker_label(speaker)


def review_steps(*, actor: Actor, transcript: Transcript, membership: Membership) -> list[review_states.Step]:
    """The review steps this person may take on the transcript now."""
    return review_states.steps_for(transcript=transcript, user=actor.user, membership=membership,
                                   second_person=membership.team.review_second_person)


def review_reviewers(*, actor: Actor, transcript: Transcript) -> list[Membership]:
    """Whom a review can be asked of: the team's members who may edit, except the asker."""
    return list(Membership.objects.filter(team_id=transcript.job.project.team_id, role__in=WRITE_ROLES)
                .exclude(user=actor.user).select_related("user").order_by("user__username"))


def _reviewer(*, actor: Actor, transcript: Transcript, username: str) -> User:
    for membership in review_reviewers(actor=actor, transcript=transcript):
        if membership.user.get_username() == username:
            return membership.user
    raise ReviewTransitionError(_("%(name)s cannot review this transcript: ask a member of the team who may "
                                  "edit it.") % {"name": username})


def review_status_set(*, actor: Actor, transcript: Transcript, status: str, reviewer: str = "") -> Transcript:
    """Move the transcript through draft → in review → approved (or back), by the rules of
    review_states; submitting may ask a named member to review it, who is emailed."""
    if status not in ReviewStatus.values:
        raise ReviewTransitionError(_("Unknown review status %(status)s.") % {"status": status})
    membership = authorize(actor.user, transcript.job.project.team_id)
    asked = None
    with transaction.atomic():
        _locked_transcript(transcript)
        current = transcript.review_status
        if status == current:
            return transcript
        if review_states.step(current, status) is None:
            raise ReviewTransitionError(_("A transcript cannot go from %(old)s to %(new)s.") % {
                "old": ReviewStatus(current).label, "new": ReviewStatus(status).label})
        refused = review_states.refusal(transcript=transcript, user=actor.user, membership=membership,
                                        target=status, second_person=membership.team.review_second_person)
        if refused is not None:
            raise NotAllowed(str(refused))
        if reviewer and status == ReviewStatus.IN_REVIEW:
            asked = _reviewer(actor=actor, transcript=transcript, username=reviewer)
        transcript.review_status = status
        approved = status == ReviewStatus.APPROVED
        transcript.approved_by = actor.user if approved else None
        transcript.approved_at = timezone.now() if approved else None
        if status == ReviewStatus.IN_REVIEW and current == ReviewStatus.DRAFT:
            transcript.submitted_by = actor.user
            transcript.reviewer = asked
        elif status == ReviewStatus.DRAFT:
            transcript.submitted_by = transcript.reviewer = None
        transcript.save(update_fields=["review_status", "approved_by", "approved_at", "submitted_by", "reviewer",
                                       "updated_at"])
        detail: dict[str, object] = {"from": current, "to": status}
        if asked is not None:
            detail["reviewer"] = asked.get_username()
        audit_record(actor=actor, action=AuditAction.TRANSCRIPT_REVIEW, team=transcript.job.project.team,
                     obj=transcript, detail=detail)
        if asked is not None:
            transaction.on_commit(lambda: review_request_email(transcript=transcript, asker=actor.user,
                                                               reviewer=asked), robust=True)
    return transcript


def transcript_viewed(*, actor: Actor, transcript: Transcript) -> None:
    """Reading a transcript is a data access the team's log records (once per visit, not per page load)."""
    audit_record_visit(actor=actor, action=AuditAction.TRANSCRIPT_VIEW, team=transcript.job.project.team,
                       obj=transcript)
