"""A project's glossary: find & replace (previewed, applied as revisions,
refused on approved transcripts), the offer to add a corrected phrase to
the hotwords, and suggestions learnt from repeated corrections."""

from __future__ import annotations

import pytest

from portal.models import AuditAction, AuditEvent
from tests.conftest import login
from transcription.models import ReviewStatus, Revision, Segment, Transcript

pytest_plugins = ["tests.transcript_factory"]

pytestmark = pytest.mark.django_db


def talk(new_transcript, project, alice, name: str, text: str) -> Transcript:
    return new_transcript(project, user=alice, name=name, segments=[(0.0, 2.0, text, ""),
                                                                    (2.0, 4.0, "这是第二句。", "")])


@pytest.fixture
def two_talks(project, alice, new_transcript):
    return (talk(new_transcript, project, alice, "a.wav", "我们用怕了佛么做识别。"),
            talk(new_transcript, project, alice, "b.wav", "怕了佛么的速度很快。"))


def test_it_previews_every_hit_and_changes_nothing(two_talks, alice, project):
    r = login(alice).post(f"/projects/{project.id}/glossary/", {"find": "怕了佛么", "replace": "Paraformer"})
    html = r.content.decode()
    assert r.status_code == 200 and "2 segments will change." in html
    assert "<mark>怕了佛么</mark>" in html and "Paraformer" in html
    assert Segment.objects.filter(text__contains="怕了佛么").count() == 2 and not Revision.objects.exists()


def test_replace_all_makes_revisions_audits_and_can_be_undone(two_talks, alice, project):
    client = login(alice)
    r = client.post(f"/projects/{project.id}/glossary/", {"find": "怕了佛么", "replace": "Paraformer", "apply": "1"},
                    follow=True)
    assert "Replaced in 2 segments." in r.content.decode()
    assert not Segment.objects.filter(text__contains="怕了佛么").exists()
    assert Revision.objects.count() == 2
    events = AuditEvent.objects.filter(action=AuditAction.TRANSCRIPT_REPLACE)
    assert events.count() == 2 and all(e.actor == alice and e.detail["find"] == "怕了佛么" for e in events)
    first = Transcript.objects.get(pk=two_talks[0].pk)
    assert first.text.startswith("我们用Paraformer做识别。")
    # undo from the segment's history
    revision = Revision.objects.get(transcript=first)
    client.post(f"/transcripts/{first.id}/revisions/{revision.id}/restore/", {"original": "1"})
    assert Segment.objects.get(transcript=first, index=0).text == "我们用怕了佛么做识别。"


def test_approved_transcripts_are_left_alone_and_counted(two_talks, alice, project):
    Transcript.objects.filter(pk=two_talks[1].pk).update(review_status=ReviewStatus.APPROVED)
    r = login(alice).post(f"/projects/{project.id}/glossary/",
                          {"find": "怕了佛么", "replace": "Paraformer", "apply": "1"}, follow=True)
    assert "Replaced in 1 segment. 1 approved transcript was left alone." in r.content.decode()
    assert Segment.objects.get(transcript=two_talks[1], index=0).text == "怕了佛么的速度很快。"


def test_replace_within_one_transcript(two_talks, alice):
    first, second = two_talks
    login(alice).post(f"/transcripts/{first.id}/replace/", {"find": "怕了佛么", "replace": "Paraformer", "apply": "1"})
    assert "Paraformer" in Segment.objects.get(transcript=first, index=0).text
    assert "怕了佛么" in Segment.objects.get(transcript=second, index=0).text


def test_an_empty_find_is_refused_with_a_message(two_talks, alice, project):
    r = login(alice).post(f"/projects/{project.id}/glossary/", {"find": "  ", "replace": "x"})
    assert r.status_code == 400 and "flash-error" in r.content.decode()


def test_viewers_and_outsiders_cannot_replace(two_talks, bob, charlie, project):
    url = f"/projects/{project.id}/glossary/"
    assert login(bob).get(url).status_code == 200
    assert login(bob).post(url, {"find": "怕了佛么", "replace": "x", "apply": "1"}).status_code == 403
    assert login(charlie).get(url).status_code == 404
    assert login(charlie).post(f"/transcripts/{two_talks[0].id}/replace/", {"find": "a"}).status_code == 404
    assert Segment.objects.filter(text__contains="怕了佛么").count() == 2


def test_an_edit_that_fixes_a_phrase_offers_it_as_a_hotword(two_talks, alice, project):
    first = two_talks[0]
    r = login(alice).post(f"/transcripts/{first.id}/segments/0/", {"text": "我们用Paraformer做识别。"},
                          HTTP_HX_REQUEST="true")
    assert "Add “Paraformer” to project hotwords" in r.content.decode()
    r = login(alice).post(f"/projects/{project.id}/hotwords/add/", {"word": "Paraformer"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    project.refresh_from_db()
    assert project.hotwords == ["Paraformer"]
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_HOTWORDS)
    assert event.actor == alice and event.detail["added"] == ["Paraformer"]
    # once it is a hotword, the next such edit offers nothing
    r = login(alice).post(f"/transcripts/{two_talks[1].id}/segments/0/", {"text": "Paraformer的速度很快。"},
                          HTTP_HX_REQUEST="true")
    assert "to project hotwords" not in r.content.decode()


@pytest.mark.parametrize(("before", "after", "offer"), [
    ("我们请张经理来讲。", "我们请王经理来讲。", "王经理"),  # the whole name, not the one character changed
    ("use the Parafomer model", "use the Paraformer model", "Paraformer"),
    ("大家好，欢迎参加今天的会议。", "今天我们讨论明年的预算和人员安排，请大家发言。", None),  # a rewritten sentence
])
def test_the_offer_after_an_edit_is_the_changed_term(before, after, offer):
    from transcription.services.glossary import correction_of

    found = correction_of(before, after)
    assert (found[1] if found else None) == offer


def test_repeated_corrections_become_suggestions(two_talks, alice, project):
    client = login(alice)
    url = f"/projects/{project.id}/glossary/"
    client.post(f"/transcripts/{two_talks[0].id}/segments/0/", {"text": "我们用Paraformer做识别。"})
    assert "Paraformer" not in client.get(url).content.decode().split("id=\"suggestions-title\"")[1]
    client.post(f"/transcripts/{two_talks[1].id}/segments/0/", {"text": "Paraformer的速度很快。"})
    suggestions = client.get(url).content.decode().split("id=\"suggestions-title\"")[1]
    assert "<strong>Paraformer</strong>" in suggestions and "2 times" in suggestions and "怕了佛么" in suggestions
    client.post(f"/projects/{project.id}/hotwords/add/", {"word": "Paraformer"})
    assert "<strong>Paraformer</strong>" not in client.get(url).content.decode()
    # new uploads use the updated hotwords
    project.refresh_from_db()
    assert project.hotwords == ["Paraformer"]


def test_viewers_cannot_add_hotwords(project, bob):
    assert login(bob).post(f"/projects/{project.id}/hotwords/add/", {"word": "x"}).status_code == 403
