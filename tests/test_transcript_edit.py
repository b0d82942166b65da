from __future__ import annotations

import json

import pytest

from portal.actor import Actor
from portal.models import AuditEvent, Membership, Role
from tests.conftest import login
from transcription.models import ReviewStatus, Revision
from transcription.services import review
from transcription.services.exports import ExportOptions, transcript_render

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]

HX = {"HTTP_HX_REQUEST": "true"}


def seg_url(transcript, index: int = 1) -> str:
    return f"/transcripts/{transcript.id}/segments/{index}/"


def test_it_opens_an_edit_form_in_place(transcript, alice):
    r = login(alice).get(seg_url(transcript) + "edit/", **HX)
    html = r.content.decode()
    assert r.status_code == 200
    assert html.startswith('<li class="seg editing" id="seg-1"')
    assert "<textarea" in html and "我们先讨论预算问题。</textarea>" in html
    assert 'name="base" value="我们先讨论预算问题。"' in html


def test_it_saves_an_edit_and_records_a_revision(transcript, alice):
    edit = {"text": "我们先讨论 2025 年的预算。", "base": "我们先讨论预算问题。"}
    r = login(alice).post(seg_url(transcript), edit, **HX)
    assert r.status_code == 200
    html = r.content.decode()
    assert html.startswith('<li class="seg" id="seg-1"') and "我们先讨论 2025 年的预算。" in html
    assert "1 edit" in html
    seg = transcript.segments.get(index=1)
    assert seg.text == "我们先讨论 2025 年的预算。"
    revision = Revision.objects.get(segment=seg)
    assert (revision.author, revision.before, revision.after) == (alice, "我们先讨论预算问题。", seg.text)
    transcript.refresh_from_db()
    assert "我们先讨论 2025 年的预算。" in transcript.text
    assert AuditEvent.objects.filter(action="transcript.edit", actor=alice, detail__segment=1).exists()


def test_saving_without_javascript_redirects_back_to_the_segment(transcript, alice):
    r = login(alice).post(seg_url(transcript), {"text": "新的文字"})
    assert r.status_code == 302 and r["Location"] == f"/transcripts/{transcript.id}/#seg-1"
    assert transcript.segments.get(index=1).text == "新的文字"


def test_edit_form_works_without_javascript(transcript, alice):
    r = login(alice).get(seg_url(transcript) + "edit/")
    assert r.status_code == 200 and b"<html" in r.content and b"<textarea" in r.content


def test_an_unchanged_save_records_nothing(transcript, alice):
    login(alice).post(seg_url(transcript), {"text": "  我们先讨论预算问题。\r\n"}, **HX)
    assert not Revision.objects.exists()


def test_a_concurrent_change_is_a_conflict_that_keeps_my_text(transcript, alice, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    login(charlie).post(seg_url(transcript), {"text": "查理改过的", "base": "我们先讨论预算问题。"}, **HX)
    r = login(alice).post(seg_url(transcript), {"text": "爱丽丝的版本", "base": "我们先讨论预算问题。"}, **HX)
    html = r.content.decode()
    assert r.status_code == 409
    assert "changed this segment while you were editing" in html
    assert "爱丽丝的版本</textarea>" in html and "查理改过的" in html
    assert 'name="base" value="查理改过的"' in html
    assert transcript.segments.get(index=1).text == "查理改过的"
    r = login(alice).post(seg_url(transcript), {"text": "爱丽丝的版本", "base": "查理改过的"}, **HX)
    assert r.status_code == 200 and transcript.segments.get(index=1).text == "爱丽丝的版本"


def test_too_long_text_is_refused_and_kept_in_the_form(transcript, alice):
    long_text = "长" * (review.MAX_SEGMENT_CHARS + 1)
    r = login(alice).post(seg_url(transcript), {"text": long_text, "base": "我们先讨论预算问题。"}, **HX)
    assert r.status_code == 422
    assert "at most 5000 characters" in r.content.decode() and long_text in r.content.decode()
    assert transcript.segments.get(index=1).text == "我们先讨论预算问题。"


def test_revision_history_lists_every_edit(transcript, alice):
    c = login(alice)
    c.post(seg_url(transcript), {"text": "第一版"}, **HX)
    c.post(seg_url(transcript), {"text": "第二版"}, **HX)
    r = c.get(seg_url(transcript) + "revisions/", **HX)
    html = r.content.decode()
    assert r.status_code == 200
    assert html.index("第二版") < html.index("第一版")
    assert "Original machine transcript" in html and "我们先讨论预算问题。" in html
    assert html.count("Restore this version") == 1  # the current one cannot be restored onto itself
    assert "Restore the original" in html
    page = c.get(seg_url(transcript) + "revisions/")  # without JavaScript: a page of its own
    assert page.status_code == 200 and b"<html" in page.content and "第二版" in page.content.decode()


def test_it_restores_a_revision(transcript, alice):
    c = login(alice)
    c.post(seg_url(transcript), {"text": "第一版"}, **HX)
    c.post(seg_url(transcript), {"text": "第二版"}, **HX)
    first = Revision.objects.get(after="第一版")
    r = c.post(f"/transcripts/{transcript.id}/revisions/{first.id}/restore/", **HX)
    html = r.content.decode()
    assert r.status_code == 200
    assert 'id="seg-1"' in html and 'hx-swap-oob="true"' in html
    assert transcript.segments.get(index=1).text == "第一版"
    restore = Revision.objects.first()
    assert (restore.before, restore.after, restore.restored_from) == ("第二版", "第一版", first)


def test_it_restores_the_original_text(transcript, alice):
    c = login(alice)
    c.post(seg_url(transcript), {"text": "改错了"}, **HX)
    rev = Revision.objects.get()
    r = c.post(f"/transcripts/{transcript.id}/revisions/{rev.id}/restore/", {"original": "1"})
    assert r.status_code == 302
    assert transcript.segments.get(index=1).text == "我们先讨论预算问题。"
    assert Revision.objects.count() == 2


def test_a_revision_of_another_transcript_is_404(transcript, alice, project, new_transcript):
    other = new_transcript(project, user=alice, name="other.wav")
    review.segment_edit(actor=Actor.of(alice), transcript=other, index=0, text="别的")
    rev = Revision.objects.get()
    r = login(alice).post(f"/transcripts/{transcript.id}/revisions/{rev.id}/restore/")
    assert r.status_code == 404


def test_review_moves_from_draft_to_approved(transcript, alice, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    r = login(alice).post(f"/transcripts/{transcript.id}/review/", {"status": "in_review"})
    assert r.status_code == 302
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.IN_REVIEW and transcript.submitted_by == alice
    login(charlie).post(f"/transcripts/{transcript.id}/review/", {"status": "approved"})
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.APPROVED and transcript.approved_by == charlie
    assert transcript.approved_at is not None
    assert AuditEvent.objects.filter(action="transcript.review", detail__to="approved").exists()


def test_review_cannot_skip_a_step(transcript, alice):
    r = login(alice).post(f"/transcripts/{transcript.id}/review/", {"status": "approved"}, follow=True)
    assert "cannot go from Draft to Approved" in r.content.decode()
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.DRAFT


def test_approval_locks_every_edit(transcript, alice, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    review.review_status_set(actor=Actor.of(alice), transcript=transcript, status="in_review")
    review.review_status_set(actor=Actor.of(charlie), transcript=transcript, status="approved")
    c = login(alice)
    r = c.post(seg_url(transcript), {"text": "批准后修改"}, **HX)
    assert r.status_code == 409 and "approved and locked" in r.content.decode()
    assert c.get(seg_url(transcript) + "edit/", **HX).status_code == 409
    r = c.post(f"/transcripts/{transcript.id}/speakers/", {"speaker": "spk0", "name": "主持人"}, **HX)
    assert r.status_code == 409
    transcript.refresh_from_db()
    assert transcript.segments.get(index=1).text == "我们先讨论预算问题。" and transcript.speaker_names == {}
    with pytest.raises(review.TranscriptLocked):
        review.segment_edit(actor=Actor.of(alice), transcript=transcript, index=0, text="api edit")


def test_a_member_can_approve_but_only_owners_and_admins_reopen(transcript, team, charlie, alice, bob):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    login(bob).post(f"/transcripts/{transcript.id}/review/", {"status": "in_review"})
    login(bob).post(f"/transcripts/{transcript.id}/review/", {"status": "approved"})  # a second person approves
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.IN_REVIEW
    c = login(charlie)
    c.post(f"/transcripts/{transcript.id}/review/", {"status": "approved"})
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.APPROVED
    assert login(bob).post(f"/transcripts/{transcript.id}/review/", {"status": "in_review"}).status_code == 403
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.APPROVED
    login(alice).post(f"/transcripts/{transcript.id}/review/", {"status": "in_review"})
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.IN_REVIEW and transcript.approved_by is None
    r = c.post(seg_url(transcript), {"text": "重新打开后可以改"}, **HX)
    assert r.status_code == 200


def test_renaming_a_speaker_relabels_segments_and_exports(transcript, alice):
    r = login(alice).post(f"/transcripts/{transcript.id}/speakers/", {"speaker": "spk1", "name": " 李  经理 "}, **HX)
    assert r.status_code == 200
    assert json.loads(r["HX-Trigger"]) == {"speaker-renamed": {"speaker": "spk1", "name": "李 经理"}}
    assert 'value="李 经理"' in r.content.decode()
    transcript.refresh_from_db()
    assert transcript.speaker_names == {"spk1": "李 经理"}
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert html.count('data-speaker="spk1">李 经理</span>') == 2
    srt = transcript_render(transcript=transcript, format="srt", options=ExportOptions(speakers=True))
    assert "李 经理: 我们先讨论预算问题。" in srt.content.decode()


def test_an_empty_name_goes_back_to_the_label(transcript, alice):
    c = login(alice)
    c.post(f"/transcripts/{transcript.id}/speakers/", {"speaker": "spk0", "name": "主持人"})
    c.post(f"/transcripts/{transcript.id}/speakers/", {"speaker": "spk0", "name": ""})
    transcript.refresh_from_db()
    assert transcript.speaker_names == {}


def test_renaming_an_unknown_speaker_says_so(transcript, alice):
    r = login(alice).post(f"/transcripts/{transcript.id}/speakers/", {"speaker": "spk9", "name": "X"}, **HX)
    assert r.status_code == 422 and "no speaker spk9" in r.content.decode()
    transcript.refresh_from_db()
    assert transcript.speaker_names == {}
