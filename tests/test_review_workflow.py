"""The review workflow's rules (transcription/review_states.py), on the page and in the API:
with "a second person approves" (the team default) nobody approves what they submitted; an
owner, an admin or the approver reopens; a review can be asked of a named member, who is
emailed; the team can turn the rule off."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import TestCase

from portal.models import AuditEvent, Membership, Role
from tests.api_support import api
from tests.conftest import login
from transcription.models import ReviewStatus

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]


@pytest.fixture
def dave(team) -> User:
    """A member of Alice's team, with an email address."""
    user = User.objects.create_user("dave", "dave@example.org", "password")
    Membership.objects.create(team=team, user=user, role=Role.MEMBER)
    return user


def review(user, transcript, status, **extra):
    return login(user).post(f"/transcripts/{transcript.id}/review/", {"status": status, **extra}, follow=True)


def test_it_does_not_let_the_submitter_approve(transcript, alice, dave):
    review(alice, transcript, "in_review")
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert ">Approve</button>" not in page
    assert "someone else must approve it" in page
    answer = review(alice, transcript, "approved").content.decode()
    assert "someone else must approve it" in answer
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.IN_REVIEW and transcript.approved_by is None

    assert ">Approve</button>" in login(dave).get(f"/transcripts/{transcript.id}/").content.decode()
    review(dave, transcript, "approved")
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.APPROVED and transcript.approved_by == dave


def test_the_approver_may_reopen_and_other_members_may_not(transcript, alice, dave, charlie, team):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    review(alice, transcript, "in_review")
    review(dave, transcript, "approved")
    assert login(charlie).post(f"/transcripts/{transcript.id}/review/", {"status": "draft"}).status_code == 403
    page = login(dave).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Reopen for review" in page and "Reopen as draft" in page
    review(dave, transcript, "draft")
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.DRAFT
    assert (transcript.approved_by, transcript.submitted_by) == (None, None)


def test_a_team_of_one_turns_the_rule_off(transcript, alice, team):
    response = login(alice).post(f"/teams/{team.id}/settings/", {"review_second_person": "", "llm_allowed": "1"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.review_second_person is False
    assert AuditEvent.objects.filter(action="team.settings", detail__review_second_person=False).exists()
    review(alice, transcript, "in_review")
    review(alice, transcript, "approved")
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.APPROVED and transcript.approved_by == alice


def test_a_review_is_asked_of_a_named_member_who_is_emailed(transcript, alice, dave):
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert '<option value="dave">dave</option>' in page and '<option value="alice">' not in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        review(alice, transcript, "in_review", reviewer="dave")
    transcript.refresh_from_db()
    assert transcript.reviewer == dave
    [message] = mail.outbox
    assert message.to == ["dave@example.org"]
    assert message.subject == 'alice asked you to review "会议录音 2024-05.wav"'
    assert f"/transcripts/{transcript.id}/" in message.body
    assert "Review requested from dave." in login(dave).get(f"/transcripts/{transcript.id}/").content.decode()
    event = AuditEvent.objects.get(action="transcript.review")
    assert event.detail["reviewer"] == "dave"


def test_a_review_cannot_be_asked_of_a_viewer_or_an_outsider(transcript, alice, bob, charlie):
    for name in ("bob", "charlie", "nobody"):
        answer = api(alice).post(f"/api/v1/transcripts/{transcript.id}/review/",
                                 {"status": "in_review", "reviewer": name}, format="json")
        assert answer.status_code == 400 and "cannot review this transcript" in answer.json()["detail"]
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.DRAFT and mail.outbox == []


def test_the_api_follows_the_same_rules(transcript, alice, bob, charlie, dave):
    url = f"/api/v1/transcripts/{transcript.id}/review/"
    assert api(alice).post(url, {"status": "approved"}, format="json").status_code == 400  # no such step
    answer = api(alice).post(url, {"status": "in_review"}, format="json")
    assert answer.status_code == 200
    assert answer.json() | {"id": None} == {"id": None, "review_status": "in_review", "submitted_by": "alice",
                                            "reviewer": None, "approved_by": None, "approved_at": None}
    refused = api(alice).post(url, {"status": "approved"}, format="json")
    assert refused.status_code == 403 and "someone else must approve it" in refused.json()["detail"]
    assert api(bob).post(url, {"status": "approved"}, format="json").status_code == 403  # a viewer
    assert api(charlie).post(url, {"status": "approved"}, format="json").status_code == 404  # an outsider
    assert api().post(url, {"status": "approved"}, format="json").status_code == 401
    assert api(dave).post(url, {"status": "bogus"}, format="json").status_code == 400
    approved = api(dave).post(url, {"status": "approved"}, format="json").json()
    assert approved["review_status"] == "approved" and approved["approved_by"] == "dave"
