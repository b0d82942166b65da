"""GET /api/v1/transcripts/{id}/, PATCH …/segments/{index}/, GET …/export/."""

from __future__ import annotations

import io
import json

import docx
import pytest

from portal.models import AuditEvent
from tests.api_support import MISSING, api, fresh_cache, make_transcript  # noqa: F401
from tests.conftest import login
from transcription.models import MediaFile, ReviewStatus, Revision, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def transcript(project, alice):
    return make_transcript(project, alice)


def test_it_shows_a_transcript_with_its_segments(transcript, bob):
    r = api(bob).get(f"/api/v1/transcripts/{transcript.id}/")
    assert r.status_code == 200
    assert r.json() == {
        "id": str(transcript.id),
        "job": str(transcript.job_id),
        "text": "你好世界。Hello there.",
        "review_status": "draft",
        "segments": [
            {"index": 0, "start": 0.0, "end": 2.5, "text": "你好世界。", "speaker": "spk0"},
            {"index": 1, "start": 2.5, "end": 6.0, "text": "Hello there.", "speaker": "spk1"},
        ],
    }
    event = AuditEvent.objects.get(action="transcript.view")
    assert event.actor == bob and event.object_id == str(transcript.id)


def test_it_hides_transcripts_from_outsiders(transcript, charlie):
    client = api(charlie)
    for r in (client.get(f"/api/v1/transcripts/{transcript.id}/"),
              client.patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "x"}, format="json"),
              client.get(f"/api/v1/transcripts/{transcript.id}/export/?format=txt")):
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert Segment.objects.get(index=0).text == "你好世界。"


@pytest.mark.parametrize("path", ["not-a-uuid/", f"{MISSING}/", "1/", "not-a-uuid/export/",
                                  f"{MISSING}/export/?format=txt", f"{MISSING}/segments/0/"])
def test_it_answers_404_for_malformed_or_unknown_transcript_ids(alice, path):
    client = api(alice)
    url = f"/api/v1/transcripts/{path}"
    r = client.patch(url, {"text": "x"}, format="json") if "segments" in path else client.get(url)
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_it_answers_401_to_anonymous_on_transcripts(transcript):
    assert api().get(f"/api/v1/transcripts/{transcript.id}/").status_code == 401
    assert api().patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "x"},
                       format="json").status_code == 401
    assert api().get(f"/api/v1/transcripts/{transcript.id}/export/").status_code == 401


def test_it_refuses_other_methods_on_transcripts(transcript, alice):
    client = api(alice)
    assert client.delete(f"/api/v1/transcripts/{transcript.id}/").status_code == 405
    assert client.put(f"/api/v1/transcripts/{transcript.id}/", {}, format="json").status_code == 405
    assert client.get(f"/api/v1/transcripts/{transcript.id}/segments/0/").status_code == 405
    assert client.put(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "x"},
                      format="json").status_code == 405
    assert client.post(f"/api/v1/transcripts/{transcript.id}/export/").status_code == 405
    assert Segment.objects.get(index=0).text == "你好世界。"


# --- editing -------------------------------------------------------------------------


def test_it_edits_a_segment_and_records_a_revision(transcript, alice):
    r = api(alice).patch(f"/api/v1/transcripts/{transcript.id}/segments/1/", {"text": "Hello, everyone."},
                         format="json")
    assert r.status_code == 200
    assert r.json() == {"index": 1, "start": 2.5, "end": 6.0, "text": "Hello, everyone.", "speaker": "spk1"}
    revision = Revision.objects.get()
    assert (revision.author, revision.before, revision.after) == (alice, "Hello there.", "Hello, everyone.")
    body = api(alice).get(f"/api/v1/transcripts/{transcript.id}/").json()
    assert body["segments"][1]["text"] == "Hello, everyone." and "Hello, everyone." in body["text"]
    assert AuditEvent.objects.filter(action="transcript.edit", actor=alice).exists()


def test_it_explains_a_bad_segment_edit(transcript, alice):
    client = api(alice)
    r = client.patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {}, format="json")
    assert r.status_code == 400 and r.json()["detail"] == "text: This field is required."
    r = client.patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "x" * 6000}, format="json")
    assert r.status_code == 400 and "at most" in r.json()["detail"]
    assert Segment.objects.get(index=0).text == "你好世界。" and not Revision.objects.exists()


def test_it_answers_404_for_a_segment_that_does_not_exist(transcript, alice):
    client = api(alice)
    for index in ("7", "-1", "x"):
        r = client.patch(f"/api/v1/transcripts/{transcript.id}/segments/{index}/", {"text": "x"}, format="json")
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_it_answers_409_when_the_transcript_is_approved(transcript, alice):
    transcript.review_status = ReviewStatus.APPROVED
    transcript.save()
    r = api(alice).patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "changed"}, format="json")
    assert r.status_code == 409 and "approved and locked" in r.json()["detail"]
    assert Segment.objects.get(index=0).text == "你好世界。"


def test_it_forbids_viewers_to_edit_segments(transcript, bob):
    r = api(bob).patch(f"/api/v1/transcripts/{transcript.id}/segments/0/", {"text": "changed"}, format="json")
    assert r.status_code == 403 and r.json() == {"detail": "Viewers can read but not change anything."}
    assert not Revision.objects.exists()


# --- export -----------------------------------------------------------------------


def test_it_exports_srt(transcript, bob):
    r = api(bob).get(f"/api/v1/transcripts/{transcript.id}/export/?format=srt")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/x-subrip")
    assert r["Content-Disposition"] == 'attachment; filename="interview.srt"'
    blocks = r.content.decode().strip().split("\n\n")
    assert blocks[0].splitlines() == ["1", "00:00:00,000 --> 00:00:02,500", "你好世界。"]
    assert blocks[1].splitlines()[1:] == ["00:00:02,500 --> 00:00:06,000", "Hello there."]
    event = AuditEvent.objects.get(action="transcript.export")
    # The same details as an export from the web page, and the edge it came through.
    assert event.actor == bob and event.detail == {"format": "srt", "timestamps": False, "speakers": False,
                                                   "chinese": "", "punctuation": "", "itn": None, "max_chars": 0,
                                                   "via": "api"}


def test_it_exports_docx_with_options(transcript, alice):
    transcript.speaker_names = {"spk0": "Alice"}
    transcript.save()
    Segment.objects.filter(transcript=transcript, index=0).update(text="这是会议记录。")
    r = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/?format=docx&speakers=1&chinese=traditional")
    assert r.status_code == 200 and r["Content-Disposition"].endswith('filename="interview.docx"')
    paragraphs = [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]
    assert paragraphs[-2:] == ["Alice: 這是會議記錄。", "spk1: Hello there."]


def test_it_exports_txt_by_default_and_json(transcript, alice):
    r = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert "Hello there." in r.content.decode()
    r = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/?format=json")
    data = json.loads(r.content)
    assert [s["text"] for s in data["segments"]] == ["你好世界。", "Hello there."]


def test_it_explains_an_unknown_export_format_or_option(transcript, alice):
    r = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/?format=pdf")
    assert r.status_code == 400 and r.json()["detail"].startswith("Unknown export format 'pdf'")
    r = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/?format=txt&chinese=klingon")
    assert r.status_code == 400 and "klingon" in r.json()["detail"]
    assert not AuditEvent.objects.filter(action="transcript.export").exists()


@pytest.mark.parametrize("name", ["interview.wav", "会议 录音.wav"])
def test_the_web_and_the_api_name_the_same_file_the_same_way(project, alice, name):
    transcript = make_transcript(project, alice)
    MediaFile.objects.filter(pk=transcript.job.media_id).update(original_name=name)
    web = login(alice).get(f"/transcripts/{transcript.id}/export/", {"format": "srt"})
    by_api = api(alice).get(f"/api/v1/transcripts/{transcript.id}/export/", {"format": "srt"})
    assert web["Content-Disposition"] == by_api["Content-Disposition"]
