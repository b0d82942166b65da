"""The transcript review workflow (DESIGN §6), in one place.

draft → in review → approved, and back. What each step is called, who may
make it, the edit lock, and the team rule "a second person approves": with
it on (the default), whoever submitted a transcript for review cannot also
approve it. Reopening an approved transcript is for owners and admins, and
for whoever approved it. The review service, the views, the API and the
templates ask this module; nothing else compares review statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")


class _Member(Protocol):
    can_write: bool
    can_manage: bool


@dataclass(frozen=True)
class Step:
    target: str
    label: Promise
    reopen: bool = False  # owners, admins and the approver only
    submits: bool = False  # may name the member asked to review
    approves: bool = False  # the page's primary button


STEPS: dict[tuple[str, str], Step] = {
    (ReviewStatus.DRAFT, ReviewStatus.IN_REVIEW): Step(ReviewStatus.IN_REVIEW, _("Submit for review"), submits=True),
    (ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED): Step(ReviewStatus.APPROVED, _("Approve"), approves=True),
    (ReviewStatus.IN_REVIEW, ReviewStatus.DRAFT): Step(ReviewStatus.DRAFT, _("Back to draft")),
    (ReviewStatus.APPROVED, ReviewStatus.IN_REVIEW): Step(ReviewStatus.IN_REVIEW, _("Reopen for review"), True),
    (ReviewStatus.APPROVED, ReviewStatus.DRAFT): Step(ReviewStatus.DRAFT, _("Reopen as draft"), True),
}

# The messages a refused step answers with (HTTP 403 in the API).
SECOND_PERSON = _("A second person approves in this team: you submitted this transcript for review, so someone "
                  "else must approve it. An owner or admin can change this rule in the team settings.")
REOPEN_ROLE = _("Only an owner or admin, or the person who approved it, can reopen an approved transcript.")
WRITE_ROLE = _("Viewers can read but not change anything.")
LOCKED = _("This transcript is approved and locked. An owner or admin must reopen it before it can be edited.")


def is_locked(transcript: Any) -> bool:
    """Approved transcripts take no edits until reopened."""
    return transcript.review_status == ReviewStatus.APPROVED


def is_approved(transcript: Any) -> bool:
    return transcript.review_status == ReviewStatus.APPROVED


def may_edit(transcript: Any, membership: _Member) -> bool:
    return membership.can_write and not is_locked(transcript)


def step(current: str, target: str) -> Step | None:
    return STEPS.get((current, target))


def refusal(*, transcript: Any, user: Any, membership: _Member, target: str, second_person: bool) -> Promise | None:
    """Why this person may not move the transcript to ``target`` now; None if they may.
    (A step the workflow has no arrow for is the caller's 400, not a refusal.)"""
    found = step(transcript.review_status, target)
    if found is None:
        return None
    if not membership.can_write:
        return WRITE_ROLE
    if found.reopen and not (membership.can_manage or transcript.approved_by_id == user.pk):
        return REOPEN_ROLE
    if target == ReviewStatus.APPROVED and second_person and transcript.submitted_by_id == user.pk:
        return SECOND_PERSON
    return None


def steps_for(*, transcript: Any, user: Any, membership: _Member, second_person: bool) -> list[Step]:
    """The steps this person may take now, in the order the page offers them."""
    return [s for (current, _target), s in STEPS.items()
            if current == transcript.review_status
            and refusal(transcript=transcript, user=user, membership=membership, target=s.target,
                        second_person=second_person) is None]


def blocked_hint(*, transcript: Any, user: Any, membership: _Member, second_person: bool) -> Promise | None:
    """What the review card says when a member can take no step: why not."""
    if not membership.can_write:
        return None
    for (current, _target), s in STEPS.items():
        if current == transcript.review_status:
            reason = refusal(transcript=transcript, user=user, membership=membership, target=s.target,
                             second_person=second_person)
            if reason is not None:
                return reason
    return None


def progress(transcript: Any) -> list[tuple[Promise, str]]:
    """The three steps with their state on the page: "done", "current" or ""."""
    order = [ReviewStatus.DRAFT, ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED]
    here = order.index(ReviewStatus(transcript.review_status))
    return [(status.label, "done" if i < here else "current" if i == here else "") for i, status in enumerate(order)]
