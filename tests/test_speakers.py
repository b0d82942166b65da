"""Speakers: off, detected, or exactly N with the tiny CAM++ model; the
embeddings are kept with the transcript so "Speakers: N" re-clusters in
seconds without transcribing again, keeping the names people gave."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from django.core.files.base import ContentFile

from portal.models import AuditAction, AuditEvent, Membership, Role
from tests.asr_fixtures import read_wav, write_wav
from tests.conftest import login
from tests.queue_support import broker_purge, broker_take_one, make_job
from transcription import tasks
from transcription.asr.audio import SAMPLE_RATE, decode
from transcription.asr.engine import Engine
from transcription.models import ReviewStatus, SpeakerEmbeddings, Transcript
from transcription.services.worker import worker_drain


@pytest.fixture(scope="module")
def long_speech(speech, tmp_path_factory):
    """The test speech three times over (~45 s): enough chunks for the clustering to run."""
    samples = read_wav(speech[0])
    return write_wav(tmp_path_factory.mktemp("speakers") / "long.wav", np.concatenate([samples] * 3))


@pytest.fixture(scope="module")
def spk_engine(engine, tiny_models):
    return Engine(dataclasses.replace(engine.config, spk_model=str(tiny_models["spk"])))


def labels(result) -> set[str]:
    return {s.speaker for s in result.segments}


def test_it_labels_no_speakers_when_speakers_are_off(spk_engine, long_speech):
    result = spk_engine.recognize([spk_engine.prepare(decode(long_speech))], speakers="off")[0]
    assert result.segments and labels(result) == {""}
    assert result.speaker_vectors is None


def test_it_finds_exactly_the_number_of_speakers_asked_for(spk_engine, long_speech):
    prepared = spk_engine.prepare(decode(long_speech))
    two = spk_engine.recognize([prepared], speakers="2")[0]
    assert labels(two) == {"Speaker 1", "Speaker 2"}
    three = spk_engine.recognize([prepared], speakers="3")[0]
    assert labels(three) == {"Speaker 1", "Speaker 2", "Speaker 3"}
    # the text does not depend on the speakers
    assert [s.text for s in two.segments] == [s.text for s in three.segments]
    vectors = two.speaker_vectors
    assert vectors is not None and len(vectors.chunks) >= 20 and vectors.vectors.shape[0] == len(vectors.chunks)


def test_auto_detection_labels_every_segment(spk_engine, long_speech):
    result = spk_engine.recognize([spk_engine.prepare(decode(long_speech))], speakers="auto")[0]
    assert all(s.speaker.startswith("Speaker ") for s in result.segments)


# -- through the worker, then re-clustered from the page --------------------------------------


@pytest.fixture
def spk_settings(asr_settings, tiny_models):
    asr_settings.ASR_SPK_MODEL = str(tiny_models["spk"])
    return asr_settings


@pytest.fixture
def diarized(project, alice, spk_settings, long_speech) -> Transcript:
    job = make_job(project, alice, name="meeting.wav", options={"preset": "", "speakers": "2", "hotwords": []})
    job.media.file.save("meeting.wav", ContentFile(long_speech.read_bytes()), save=True)
    job.media.duration = len(read_wav(long_speech)) / SAMPLE_RATE
    job.media.save(update_fields=["duration"])
    worker_drain(worker="w1")
    return Transcript.objects.get(job=job)


pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_keeps_the_embeddings_and_the_count_it_used(diarized):
    stored = SpeakerEmbeddings.objects.get(transcript=diarized)
    assert stored.speakers == "2" and stored.dim > 0 and len(stored.chunks) >= 20
    assert len(bytes(stored.vectors)) == 4 * stored.dim * len(stored.chunks)
    assert set(diarized.segments.values_list("speaker", flat=True)) == {"Speaker 1", "Speaker 2"}


def test_it_reclusters_from_the_page_and_keeps_a_renamed_speaker(diarized, alice):
    client = login(alice)
    client.post(f"/transcripts/{diarized.id}/speakers/", {"speaker": "Speaker 1", "name": "王老师"})
    broker_purge()
    r = client.post(f"/transcripts/{diarized.id}/speakers/recluster/", {"speakers": "3"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "Re-clustering speakers…" in r.content.decode()
    queued = broker_take_one()
    assert queued["func"] == "transcription.tasks.recluster_speakers"
    assert tasks.recluster_speakers(*queued["args"]) == 3
    diarized.refresh_from_db()
    assert set(diarized.segments.values_list("speaker", flat=True)) == {"Speaker 1", "Speaker 2", "Speaker 3"}
    assert list(diarized.speaker_names.values()) == ["王老师"]  # the name went to one of the new clusters
    assert SpeakerEmbeddings.objects.get(transcript=diarized).speakers == "3"
    event = AuditEvent.objects.get(action=AuditAction.SPEAKERS_RECLUSTER)
    assert event.actor == alice and event.detail["from"] == "2" and event.detail["to"] == "3"
    # the page polls while pending, then reloads; once done the poll asks for a refresh
    r = client.get(f"/transcripts/{diarized.id}/speakers/card/?pending=1")
    assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"
    # a second run of the same task finds nothing pending
    assert tasks.recluster_speakers(str(diarized.id)) == 0


def test_auto_reclustering_labels_every_segment(diarized, alice):
    login(alice).post(f"/transcripts/{diarized.id}/speakers/recluster/", {"speakers": "auto"})
    assert tasks.recluster_speakers(str(diarized.id)) >= 1
    assert all(s.startswith("Speaker ") for s in diarized.segments.values_list("speaker", flat=True))


def test_viewers_outsiders_and_bad_counts_are_refused(diarized, alice, bob, charlie):
    url = f"/transcripts/{diarized.id}/speakers/recluster/"
    assert login(bob).post(url, {"speakers": "3"}).status_code == 403
    assert login(charlie).post(url, {"speakers": "3"}).status_code == 404
    r = login(alice).post(url, {"speakers": "12"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "2 to 10" in r.content.decode()
    assert SpeakerEmbeddings.objects.get(transcript=diarized).requested == ""


def test_an_approved_transcript_is_not_reclustered(diarized, alice):
    Transcript.objects.filter(pk=diarized.pk).update(review_status=ReviewStatus.APPROVED)
    r = login(alice).post(f"/transcripts/{diarized.id}/speakers/recluster/", {"speakers": "3"},
                          HTTP_HX_REQUEST="true")
    assert r.status_code == 409
    assert SpeakerEmbeddings.objects.get(transcript=diarized).requested == ""


def test_a_transcript_without_speakers_offers_no_reclustering(project, alice, asr_settings, speech):
    job = make_job(project, alice, name="solo.wav")
    job.media.file.save("solo.wav", ContentFile(speech[0].read_bytes()), save=True)
    worker_drain(worker="w1")
    transcript = Transcript.objects.get(job=job)
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Re-cluster" not in html
    r = login(alice).post(f"/transcripts/{transcript.id}/speakers/recluster/", {"speakers": "2"},
                          HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "without speaker detection" in r.content.decode()


def test_members_see_the_recluster_form_and_viewers_do_not(diarized, alice, bob, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    assert "Re-cluster" in login(charlie).get(f"/transcripts/{diarized.id}/").content.decode()
    assert "Re-cluster" not in login(bob).get(f"/transcripts/{diarized.id}/").content.decode()
