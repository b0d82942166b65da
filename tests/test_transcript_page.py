from __future__ import annotations

import pytest
from django.test import Client

from portal.models import AuditEvent, Membership, Role
from tests.conftest import login
from transcription.models import ReviewStatus

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]


def write_routes(transcript) -> list[tuple[str, dict]]:
    rev = transcript.segments.get(index=0)
    revision = rev.revisions.create(transcript=transcript, before="a", after=rev.text)
    base = f"/transcripts/{transcript.id}"
    return [
        (f"{base}/segments/0/", {"text": "x"}),
        (f"{base}/revisions/{revision.id}/restore/", {}),
        (f"{base}/speakers/", {"speaker": "spk0", "name": "X"}),
        (f"{base}/review/", {"status": "in_review"}),
    ]


def test_it_shows_the_player_and_every_segment(transcript, alice):
    r = login(alice).get(f"/transcripts/{transcript.id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert '<audio id="player"' in html and f'src="/media/{transcript.job.media_id}/"' in html
    for seg in transcript.segments.all():
        assert f'id="seg-{seg.index}"' in html and seg.text in html
        assert f'data-start="{seg.start:.3f}"' in html
    assert "spk0" in html and "Speakers" in html
    assert "Submit for review" in html and ">Edit<" in html
    assert "/static/js/transcript.js" in html


def test_it_uses_a_video_element_for_video(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, name="clip.mp4")
    transcript.job.media.has_video = True
    transcript.job.media.save()
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert '<video id="player"' in html and "<audio" not in html


def test_it_records_who_viewed_the_transcript(transcript, bob):
    login(bob).get(f"/transcripts/{transcript.id}/")
    event = AuditEvent.objects.get(action="transcript.view")
    assert event.actor == bob and event.object_id == str(transcript.id)


def test_speaker_display_names_are_shown(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, speaker_names={"spk0": "王老师"})
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert 'data-speaker="spk0">王老师</span>' in html


def test_viewer_reads_without_edit_controls(transcript, bob):
    html = login(bob).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Read-only" in html
    assert ">Edit<" not in html and "Submit for review" not in html and "Rename" not in html
    assert "Export" in html


def test_approved_transcript_shows_the_lock(transcript, alice):
    transcript.review_status = ReviewStatus.APPROVED
    transcript.approved_by = alice
    transcript.save()
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Editing is locked" in html and "Approved by alice" in html
    assert ">Edit<" not in html and "Reopen for review" in html


def test_member_sees_that_only_owners_reopen(transcript, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    transcript.review_status = ReviewStatus.APPROVED
    transcript.save()
    html = login(charlie).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Only an owner or admin, or the person who approved it, can reopen" in html
    assert "Reopen" not in html.replace("can reopen", "")


def test_search_link_prefills_the_in_page_search(transcript, alice):
    html = login(alice).get(f"/transcripts/{transcript.id}/?q=预算").content.decode()
    assert 'id="ts-search" value="预算"' in html


def test_outsider_gets_404_everywhere(transcript, charlie):
    c = login(charlie)
    base = f"/transcripts/{transcript.id}"
    for url in (f"{base}/", f"{base}/segments/0/", f"{base}/segments/0/edit/", f"{base}/segments/0/revisions/",
                f"{base}/export/?format=txt", f"/media/{transcript.job.media_id}/"):
        assert c.get(url).status_code == 404, url
    for url, data in write_routes(transcript):
        assert c.post(url, data).status_code == 404, url
    assert c.get("/transcripts/not-a-uuid/").status_code == 404


def test_viewer_gets_403_on_every_write(transcript, bob):
    c = login(bob)
    assert c.get(f"/transcripts/{transcript.id}/segments/0/edit/").status_code == 403
    for url, data in write_routes(transcript):
        assert c.post(url, data).status_code == 403, url
    transcript.refresh_from_db()
    assert transcript.review_status == ReviewStatus.DRAFT and transcript.speaker_names == {}
    assert transcript.segments.get(index=0).text == "大家好，欢迎参加今天的会议。"


def test_anonymous_is_sent_to_login(transcript):
    c = Client()
    base = f"/transcripts/{transcript.id}"
    for url in (f"{base}/", f"{base}/segments/0/edit/", f"{base}/export/?format=txt",
                f"/media/{transcript.job.media_id}/", "/search/?q=x"):
        r = c.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    for url, data in write_routes(transcript):
        r = c.post(url, data)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url


def test_missing_segment_is_404(transcript, alice):
    c = login(alice)
    assert c.get(f"/transcripts/{transcript.id}/segments/99/edit/").status_code == 404
    assert c.post(f"/transcripts/{transcript.id}/segments/99/", {"text": "x"}).status_code == 404


def test_the_detected_language_is_named_on_the_transcript_and_job_pages(transcript, alice):
    from transcription.models import Transcript

    Transcript.objects.filter(pk=transcript.pk).update(language="zh")
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert '<span id="transcript-language">Language: Simplified Chinese</span>' in page
    job_page = login(alice).get(f"/jobs/{transcript.job_id}/").content.decode()
    assert '<dd id="job-language">Simplified Chinese</dd>' in job_page
