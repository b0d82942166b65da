"""End to end with a real `manage.py qcluster` and the tiny real models:
files uploaded through the web view are transcribed by the worker; a worker
killed mid-job (SIGKILL) is noticed by the reaper, and the job finishes
exactly once on the next worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from tests.asr_fixtures import read_wav, write_wav
from tests.cluster_support import wait_for
from tests.conftest import login
from tests.queue_support import upload
from transcription.models import Job, JobAttempt, JobStatus, Transcript

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def test_three_uploaded_files_are_transcribed_by_the_worker(project, alice, speech, speech_variants, clusters):
    files = [upload("speech.wav", speech[0].read_bytes()),
             upload("speech.mp3", speech_variants["mp3"].read_bytes()),
             upload("speech.m4a", speech_variants["m4a"].read_bytes())]
    response = login(alice).post(f"/projects/{project.pk}/upload/", {"files": files}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201 and len(response.json()["jobs"]) == 3
    cluster = clusters()
    wait_for(lambda: Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 3, timeout=300,
             what="three succeeded jobs", cluster=cluster)
    assert Transcript.objects.count() == 3
    for job in Job.objects.select_related("transcript"):
        assert job.attempts == 1 and job.progress == 100
        assert job.transcript.segments.count() >= 1
        assert job.audio_seconds == pytest.approx(job.media.duration, abs=0.2)


def test_a_worker_killed_mid_job_is_reaped_and_the_job_finishes_once(project, alice, speech, clusters, tmp_path):
    from django_q.models import Schedule

    # About eight minutes of speech with silences: several seconds of transcription even for the tiny model.
    long_wav = write_wav(tmp_path / "long.wav", np.tile(read_wav(speech[0]), 20))
    response = login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("long.wav",
                                 long_wav.read_bytes())]}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    job = Job.objects.get()

    first = clusters()
    wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, stage="transcribing").exists(),
             timeout=240, what="the job to be transcribing", cluster=first)
    first.kill()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1, "the job finished before the kill"
    assert not Transcript.objects.exists()

    second = clusters()
    # The reaper runs from the cluster's scheduler; make it due now rather than in up to a minute.
    Schedule.objects.filter(func="transcription.tasks.reap_stale_jobs").update(next_run=timezone.now())
    wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(), timeout=300,
             what="the reaped job to succeed", cluster=second)
    job.refresh_from_db()
    assert job.attempts == 2
    assert Transcript.objects.filter(job=job).count() == 1
    assert list(JobAttempt.objects.filter(job=job).values_list("number", "outcome")) == [(1, "lost"), (2, "succeeded")]
