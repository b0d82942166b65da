"""Word-level timing: the model's token times are kept with each segment,
exported in json, used to split long subtitle cues, shown as clickable
words on the page, and dropped gracefully when a person edits the text."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile

from tests.conftest import login
from tests.queue_support import make_job
from transcription.models import Segment, Transcript
from transcription.services.cues import split_cue
from transcription.services.worker import worker_drain

pytest_plugins = ["tests.transcript_factory"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_each_segments_word_times(project, alice, asr_settings, speech):
    job = make_job(project, alice, name="talk.wav")
    job.media.file.save("talk.wav", ContentFile(speech[0].read_bytes()), save=True)
    worker_drain(worker="w1")
    transcript = Transcript.objects.get(job=job)
    segments = list(transcript.segments.order_by("index"))
    assert segments and all(s.words for s in segments)
    for s in segments:
        starts = [w[1] for w in s.words]
        assert starts == sorted(starts)
        assert s.start - 0.001 <= s.words[0][1] and s.words[-1][2] <= s.end + 0.001
        assert all(w[1] <= w[2] for w in s.words)
    # the json export lists them
    data = json.loads(login(alice).get(f"/api/v1/transcripts/{transcript.id}/export/", {"format": "json"}).content)
    first = data["segments"][0]
    assert first["words"][0] == {"text": segments[0].words[0][0], "start": segments[0].words[0][1],
                                 "end": segments[0].words[0][2]}


WORDS = [["我们", 0.0, 0.4], ["今天", 0.4, 0.8], ["讨论", 0.8, 1.2], ["明年", 1.2, 1.6], ["的", 1.6, 1.7],
         ["预算", 1.7, 2.2], ["和", 2.2, 2.4], ["人员", 2.4, 2.8], ["安排", 2.8, 3.2]]
TEXT = "我们今天讨论明年的预算和人员安排。"


@pytest.fixture
def timed(project, alice, new_transcript) -> Transcript:
    transcript = new_transcript(project, user=alice, segments=[(0.0, 3.2, TEXT, "")])
    Segment.objects.filter(transcript=transcript).update(words=WORDS)
    return transcript


def test_a_long_cue_is_split_at_word_boundaries_with_the_words_times():
    assert split_cue(TEXT, 0.0, 3.2, WORDS, 10) == [("我们今天讨论明年的", 0.0, 1.7), ("预算和人员安排。", 1.7, 3.2)]


def test_without_word_times_it_splits_at_punctuation_and_shares_the_time():
    pieces = split_cue("第一句话很长，第二句话也很长。", 0.0, 3.0, [], 10)
    assert [p[0] for p in pieces] == ["第一句话很长，", "第二句话也很长。"]
    assert pieces[0][1] == 0.0 and pieces[-1][2] == 3.0


@pytest.mark.django_db
def test_srt_offers_max_characters_per_cue(timed, alice):
    url = f"/api/v1/transcripts/{timed.id}/export/"
    srt = login(alice).get(url, {"format": "srt", "max_chars": "10"}).content.decode()
    assert "00:00:00,000 --> 00:00:01,700\n我们今天讨论明年的" in srt
    assert "00:00:01,700 --> 00:00:03,200\n预算和人员安排。" in srt
    whole = login(alice).get(url, {"format": "vtt"}).content.decode()
    assert f"00:00:00.000 --> 00:00:03.200\n{TEXT}" in whole
    r = login(alice).get(url, {"format": "srt", "max_chars": "3"})
    assert r.status_code == 400 and "max_chars" in r.json()["detail"]


@pytest.mark.django_db
def test_the_page_shows_clickable_words_and_an_edit_drops_them(timed, alice):
    client = login(alice)
    html = client.get(f"/transcripts/{timed.id}/").content.decode()
    assert '<span class="w" data-start="1.700" data-end="2.200">预算</span>' in html
    client.post(f"/transcripts/{timed.id}/segments/0/", {"text": "我们今天讨论后年的预算。"})
    segment = Segment.objects.get(transcript=timed, index=0)
    assert segment.words == [] and (segment.start, segment.end) == (0.0, 3.2)  # the segment keeps its timing
    html = client.get(f"/transcripts/{timed.id}/").content.decode()
    assert 'class="w"' not in html and "我们今天讨论后年的预算。" in html
