"""A worker's batches, with the tiny real models: one engine call for several
jobs gives each the text it gets alone; a bad file, an engine error or a
cancel touches only its own job; the next batch is prepared while the
current one is in the model."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile

from portal.actor import Actor
from tests.asr_fixtures import GAP_SECONDS, read_wav, write_wav
from tests.queue_support import make_job
from transcription.asr.audio import SAMPLE_RATE
from transcription.asr.engine import Engine
from transcription.job_states import JobStatus
from transcription.models import Job, JobAttempt, Transcript
from transcription.services import worker as worker_module
from transcription.services.heartbeats import Heartbeats
from transcription.services.job_actions import job_cancel
from transcription.services.worker import worker_drain, worker_hand_back

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clips(speech, tmp_path) -> list[Path]:
    """Three files of different lengths cut from the test speech at its pauses."""
    samples = read_wav(speech[0])
    cut = int((speech[1][1][1] - GAP_SECONDS / 2) * SAMPLE_RATE)  # after the second sentence
    return [write_wav(tmp_path / "all.wav", samples), write_wav(tmp_path / "two.wav", samples[:cut]),
            write_wav(tmp_path / "rest.wav", samples[cut:])]


def stored(project, user, path: Path, name: str | None = None) -> Job:
    job = make_job(project, user, name=name or path.name)
    job.media.file.save(path.name, ContentFile(path.read_bytes()), save=True)
    try:
        job.media.duration = len(read_wav(path)) / SAMPLE_RATE
    except wave.Error:  # not audio at all
        job.media.duration = 1.0
    job.media.save(update_fields=["duration"])
    return job


def texts(jobs: list[Job]) -> list[tuple[str, list[tuple[float, float, str]]]]:
    out = []
    for job in jobs:
        transcript = Transcript.objects.get(job=job)
        out.append((transcript.text, list(transcript.segments.values_list("start", "end", "text"))))
    return out


@pytest.fixture
def engine_calls(monkeypatch) -> list[int]:
    """How many files each engine call was given (the real engine still runs)."""
    calls: list[int] = []
    real = Engine.recognize

    def recognize(self, prepared, **kwargs):
        calls.append(len(prepared))
        return real(self, prepared, **kwargs)

    monkeypatch.setattr(Engine, "recognize", recognize)
    return calls


def test_a_batch_gives_every_file_the_text_it_gets_alone(project, alice, asr_settings, clips, engine_calls):
    alone = [stored(project, alice, clip) for clip in clips]
    assert worker_drain(worker="w", batch_jobs=1, prefetch=False) == 3
    together = [stored(project, alice, clip) for clip in clips]
    assert worker_drain(worker="w", batch_jobs=16) == 3
    assert engine_calls == [1, 1, 1, 3]
    assert len({a.batch for a in JobAttempt.objects.filter(job__in=together)}) == 1
    assert texts(together) == texts(alone)
    assert all(text for text, _segments in texts(together))


def test_a_file_that_cannot_be_decoded_fails_alone(project, alice, asr_settings, clips, tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_bytes(b"these are words, not audio\n" * 50)
    good = [stored(project, alice, clips[1]), stored(project, alice, clips[2])]
    bad = stored(project, alice, notes)
    worker_drain(worker="w")
    bad.refresh_from_db()
    assert bad.status == JobStatus.FAILED and "not an audio or video file" in bad.error
    assert set(Job.objects.filter(pk__in=[j.pk for j in good]).values_list("status", flat=True)) == {
        JobStatus.SUCCEEDED}


def test_an_engine_error_on_the_batch_retries_its_jobs_one_by_one(project, alice, asr_settings, clips,
                                                                   monkeypatch):
    real = Engine.recognize
    sizes: list[int] = []

    def recognize(self, prepared, **kwargs):
        sizes.append(len(prepared))
        if len(prepared) > 1:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real(self, prepared, **kwargs)

    monkeypatch.setattr(Engine, "recognize", recognize)
    jobs = [stored(project, alice, clip) for clip in clips]
    worker_drain(worker="w")
    assert sizes == [3, 1, 1, 1]
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 1, "")


def test_a_file_the_engine_cannot_take_fails_without_failing_its_batch(project, alice, asr_settings, clips,
                                                                       monkeypatch):
    real = Engine.recognize
    poison = len(read_wav(clips[2]))

    def recognize(self, prepared, **kwargs):
        if any(len(p.samples) == poison for p in prepared):
            raise RuntimeError("the model choked on this file")
        return real(self, prepared, **kwargs)

    monkeypatch.setattr(Engine, "recognize", recognize)
    ok = [stored(project, alice, clips[0]), stored(project, alice, clips[1])]
    bad = stored(project, alice, clips[2])
    worker_drain(worker="w")
    bad.refresh_from_db()
    # An unknown error is worth another attempt: it goes back to the queue, alone.
    assert bad.status == JobStatus.QUEUED and bad.attempts == 1 and "internal error" in bad.error
    assert set(Job.objects.filter(pk__in=[j.pk for j in ok]).values_list("status", flat=True)) == {
        JobStatus.SUCCEEDED}


def test_cancelling_one_job_of_a_batch_leaves_the_others_as_they_would_be(project, alice, asr_settings, clips,
                                                                          monkeypatch):
    alone = [stored(project, alice, clip) for clip in clips]
    worker_drain(worker="w", batch_jobs=1, prefetch=False)
    jobs = [stored(project, alice, clip) for clip in clips]
    victim = jobs[1]
    real_set = Heartbeats.set

    def cancel_when_running(beats, job_id, *, stage=None, progress=None, now=False):
        real_set(beats, job_id, stage=stage, progress=progress, now=now)
        if stage is None and progress is not None and Job.objects.filter(pk=victim.pk, cancel_requested=False,
                                                                          status=JobStatus.RUNNING).exists():
            job_cancel(actor=Actor.of(alice), job=victim)  # pressed while the batch is in the model
            beats._beat(victim.pk)

    monkeypatch.setattr(Heartbeats, "set", cancel_when_running)
    worker_drain(worker="w")
    victim.refresh_from_db()
    assert victim.status == JobStatus.CANCELLED and not Transcript.objects.filter(job=victim).exists()
    kept = [jobs[0], jobs[2]]
    assert texts(kept) == texts([alone[0], alone[2]])


def test_the_next_batch_is_claimed_and_prepared_while_the_current_one_is_in_the_model(project, alice, asr_settings,
                                                                                     clips, engine_calls):
    jobs = [stored(project, alice, clip, name=f"{n}-{clip.name}") for n in range(2) for clip in clips[1:]]
    assert worker_drain(worker="w", batch_jobs=2, prefetch=True) == 4
    attempts = list(JobAttempt.objects.filter(job__in=jobs).order_by("id"))
    first, second = attempts[:2], attempts[2:]
    assert len({a.batch for a in first}) == 1 and len({a.batch for a in second}) == 1
    assert max(a.started_at for a in second) < min(a.ended_at for a in first)
    assert engine_calls == [2, 2]


def test_a_prefetched_job_cancelled_before_its_turn_never_reaches_the_model(project, alice, asr_settings, clips,
                                                                          monkeypatch, engine_calls):
    first = stored(project, alice, clips[0], name="first.wav")
    later = stored(project, alice, clips[1], name="later.wav")
    Job.objects.filter(pk=later.pk).update(queued_at=first.queued_at.replace(year=first.queued_at.year + 1))
    real_set = Heartbeats.set

    def cancel_later(beats, job_id, *, stage=None, progress=None, now=False):
        real_set(beats, job_id, stage=stage, progress=progress, now=now)
        if job_id == first.pk and progress is not None and progress >= 50:
            later.refresh_from_db()
            if not later.cancel_requested:
                job_cancel(actor=Actor.of(alice), job=later)

    monkeypatch.setattr(Heartbeats, "set", cancel_later)
    worker_drain(worker="w", batch_jobs=1, prefetch=True)
    later.refresh_from_db()
    assert later.status == JobStatus.CANCELLED and Job.objects.get(pk=first.pk).status == JobStatus.SUCCEEDED
    assert engine_calls == [1]


def test_jobs_held_by_a_worker_that_stops_go_back_to_the_queue_at_once(project, alice, asr_settings, clips):
    jobs = [stored(project, alice, clip) for clip in clips]
    checks = iter([False])  # not stopping when it claims; stopping from then on
    worker_drain(worker="w", batch_jobs=1, prefetch=False, should_stop=lambda: next(checks, True))
    statuses = set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True))
    assert statuses == {JobStatus.QUEUED}
    interrupted = JobAttempt.objects.get(job__in=jobs)
    assert interrupted.outcome == "interrupted"
    job = Job.objects.get(pk=interrupted.job_id)
    assert (job.attempts, job.max_attempts, job.error) == (1, 4, "")  # the interruption does not count


def test_a_claim_in_flight_when_the_stop_comes_is_handed_back_with_the_rest(project, alice, asr_settings, clips,
                                                                           monkeypatch):
    """The process exits right after its stop's hand-back, so a claim that was already on its way
    must be in what is handed back, not left running until the reaper finds it."""
    jobs = [stored(project, alice, clip) for clip in clips]
    in_claim, go, stop = threading.Event(), threading.Event(), threading.Event()
    real_claim = worker_module.jobs_claim_batch

    def slow_claim(**kwargs):
        in_claim.set()
        go.wait(10)
        return real_claim(**kwargs)

    monkeypatch.setattr(worker_module, "jobs_claim_batch", slow_claim)
    drainer = threading.Thread(target=worker_drain, kwargs={"worker": "w", "prefetch": False,
                                                             "should_stop": stop.is_set})
    drainer.start()
    assert in_claim.wait(10)
    stop.set()
    handed: list[int] = []
    hand_back = threading.Thread(target=lambda: handed.append(worker_hand_back(worker="w")))
    hand_back.start()
    time.sleep(0.3)  # without the gate the hand-back is over by now, before the claim commits
    go.set()
    hand_back.join(10)
    assert handed == [len(jobs)]
    assert set(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True)) == {JobStatus.QUEUED}
    drainer.join(30)
    assert set(JobAttempt.objects.filter(job__in=jobs).values_list("outcome", flat=True)) == {"interrupted"}


def test_silence_in_a_batch_gives_an_empty_transcript_beside_the_others(project, alice, asr_settings, clips,
                                                                       silence):
    jobs = [stored(project, alice, clips[1]), stored(project, alice, silence)]
    worker_drain(worker="w")
    assert [t for t, _ in texts(jobs)][1] == "" and texts(jobs)[0][0]
    assert np.isclose(Job.objects.get(pk=jobs[1].pk).audio_seconds, 5.0, atol=0.1)
