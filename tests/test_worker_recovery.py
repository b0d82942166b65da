"""A lost worker, and only the guilty blamed: a dead worker process of this
node has its jobs requeued at once (not after JOB_STALE_SECONDS), a batch
that was lost runs again one job at a time without charging anyone, a job
that crashes its worker while alone is charged and in the end failed with
its likely cause, and an error between claim and result hands the jobs back
at once. The cluster tests run a real `manage.py qcluster` with the tiny
real models and kill its processes for real."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.asr_fixtures import read_wav, write_wav
from tests.cluster_support import claimed_again, wait_for
from tests.queue_support import make_job
from transcription.asr import engine as asr_engine
from transcription.job_states import JobStatus
from transcription.models import Job, JobAttempt, Transcript
from transcription.services.claim import job_claim, jobs_claim_batch
from transcription.services.reaper import jobs_reap_stale
from transcription.services.worker import worker_drain
from transcription.services.worker_names import _start_token, node_name, worker_name

pytestmark = pytest.mark.django_db(transaction=True)


def lost_and_charged(job: Job) -> tuple[str, int, bool, int]:
    """(status, attempts, runs alone, attempts still allowed)."""
    job.refresh_from_db()
    return job.status, job.attempts, job.run_alone, job.max_attempts - job.attempts


def a_dead_process_name() -> str:
    """The worker name a process of this node had, once it has ended."""
    proc = subprocess.Popen(["sleep", "60"])
    name = f"{node_name()}:{proc.pid}:{_start_token(proc.pid)}"
    proc.kill()
    proc.wait()
    return name


# --- this node's dead workers, and the run-alone rule -------------------------------------------

def test_it_requeues_at_once_the_jobs_of_a_dead_worker_of_this_node(project, alice):
    dead = [make_job(project, alice, name=f"dead-{i}.wav") for i in range(2)]
    for _job in dead:
        job_claim(worker=a_dead_process_name())
    # Our own pid with another start: the pid was reused by a different process.
    reused = make_job(project, alice, name="reused.wav")
    job_claim(worker=f"{node_name()}:{os.getpid()}:1.00000000")
    live = make_job(project, alice, name="live.wav")
    job_claim(worker=worker_name())
    elsewhere = make_job(project, alice, name="elsewhere.wav")
    job_claim(worker="another-node:123:456.abc")
    # Every heartbeat is fresh: only knowing the process is gone can requeue them.
    assert jobs_reap_stale().requeued == 3
    for job in [*dead, reused]:
        assert lost_and_charged(job) == (JobStatus.QUEUED, 1, True, 3)  # the lost attempt is given back
        assert "ended unexpectedly" in job.error
    assert Job.objects.get(pk=live.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=elsewhere.pk).status == JobStatus.RUNNING
    assert list(JobAttempt.objects.filter(job=reused).values_list("outcome", flat=True)) == ["lost"]


def test_worker_names_differ_for_each_process_start():
    name = worker_name()
    node, pid, token = name.rsplit(":", 2)
    assert (node, int(pid)) == (node_name(), os.getpid()) and token == _start_token(os.getpid())
    assert name != a_dead_process_name()


def test_it_runs_the_jobs_of_a_lost_batch_alone_and_charges_only_a_job_lost_alone(project, alice):
    jobs = [make_job(project, alice, name=f"batch-{i}.wav", queued_ago=100 - i) for i in range(3)]
    batch = jobs_claim_batch(worker="w", max_jobs=16, max_seconds=900)
    assert len(batch) == 3
    Job.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs_reap_stale().requeued == 3
    assert all(lost_and_charged(job) == (JobStatus.QUEUED, 1, True, 3) for job in jobs)
    # A prefetch never takes them, nor a job behind them; a worker holding nothing takes one at a time.
    make_job(project, alice, name="later.wav")
    assert jobs_claim_batch(worker="w", max_jobs=16, max_seconds=900, solo_ok=False) == []
    alone = jobs_claim_batch(worker="w", max_jobs=16, max_seconds=900)
    assert [job.pk for job in alone] == [jobs[0].pk]
    # Lost again while alone: now it counts.
    Job.objects.filter(pk=jobs[0].pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs_reap_stale().requeued == 1
    assert lost_and_charged(jobs[0]) == (JobStatus.QUEUED, 2, True, 2)


def test_a_cancel_the_lost_worker_could_not_honour_is_recorded_as_cancelled(project, alice):
    job = make_job(project, alice)
    job_claim(worker="w")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1), cancel_requested=True)
    assert jobs_reap_stale().cancelled == 1
    assert list(JobAttempt.objects.filter(job=job).values_list("outcome", flat=True)) == ["cancelled"]


# --- an error between claim and result ----------------------------------------------------------

def test_an_error_after_claim_hands_the_jobs_back_at_once_and_charges_only_a_job_running_alone(
        project, alice, asr_settings, monkeypatch):
    jobs = [make_job(project, alice, name=f"clip-{i}.wav", store=True, queued_ago=100 - i) for i in range(3)]
    real = asr_engine.get_engine

    def deadlocked(*_args, **_kwargs):  # what was seen: an import deadlock while loading the model
        raise RuntimeError("import of funasr deadlocked")

    monkeypatch.setattr(asr_engine, "get_engine", deadlocked)
    with pytest.raises(RuntimeError):
        worker_drain(worker="w", prefetch=True)
    # Back in the queue at once, nobody charged, each to run alone.
    assert all(lost_and_charged(job) == (JobStatus.QUEUED, 1, True, 3) for job in jobs)
    assert set(JobAttempt.objects.values_list("outcome", flat=True)) == {"lost"}
    assert all("internal error" in job.error for job in jobs)

    # The same error while a job runs alone: that job is charged.
    with pytest.raises(RuntimeError):
        worker_drain(worker="w", prefetch=True)
    assert lost_and_charged(jobs[0]) == (JobStatus.QUEUED, 2, True, 2)
    assert all(lost_and_charged(job) == (JobStatus.QUEUED, 1, True, 3) for job in jobs[1:])

    monkeypatch.setattr(asr_engine, "get_engine", real)
    assert worker_drain(worker="w", prefetch=True) == 3
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    # Each ran in a batch of its own.
    succeeded = JobAttempt.objects.filter(outcome="succeeded")
    assert len(set(succeeded.values_list("batch", flat=True))) == 3


# --- real clusters ------------------------------------------------------------------------------

def test_a_killed_worker_and_a_killed_cluster_have_their_jobs_claimed_again_long_before_they_go_stale(
        clusters, speech, tmp_path, project, alice):
    # Recordings of a few minutes: a batch is still in the model when the signal arrives.
    clip = write_wav(tmp_path / "clip.wav", np.tile(read_wav(speech[0]), 8))
    for i in range(6):
        job = make_job(project, alice, name=f"clip-{i}.wav", seconds=180.0, queued_ago=1000 - i)
        job.media.file.save("clip.wav", clip.open("rb"), save=True)
    in_model = Job.objects.filter(status=JobStatus.RUNNING, stage="transcribing")
    cluster = clusters(JOB_STALE_SECONDS="600", ASR_BATCH_JOBS="2")
    wait_for(in_model.exists, timeout=300, what="a batch in the model", cluster=cluster)

    # One worker process killed: django-q2 starts another, which requeues its jobs and claims them.
    name = in_model.values_list("worker", flat=True).first()
    os.kill(int(name.rsplit(":", 2)[1]), signal.SIGKILL)
    wait_for(lambda: claimed_again({name}), timeout=120, what="the killed worker's jobs claimed again",
             cluster=cluster)

    # The whole cluster killed, and started again: it claims them at once.
    wait_for(in_model.exists, timeout=300, what="a job in the model", cluster=cluster)
    cluster.kill()
    names = set(JobAttempt.objects.filter(ended_at__isnull=True).values_list("worker", flat=True))
    again = clusters(JOB_STALE_SECONDS="600", ASR_BATCH_JOBS="2")
    wait_for(lambda: claimed_again(names), timeout=120, what="the killed cluster's jobs claimed again", cluster=again)

    wait_for(lambda: Job.objects.filter(status=JobStatus.SUCCEEDED).count() == 6, timeout=600,
             what="every job to succeed", cluster=again)
    assert Transcript.objects.count() == 6
    for job in Job.objects.all():
        outcomes = list(job.attempt_log.values_list("outcome", flat=True))
        assert outcomes[-1] == "succeeded" and set(outcomes[:-1]) <= {"lost"}, outcomes


def test_a_poison_file_that_kills_its_worker_fails_alone_and_its_batch_mates_succeed(clusters, project, alice):
    for i in range(8):
        name = "poison-3.wav" if i == 3 else f"clip-{i}.wav"
        make_job(project, alice, name=name, seconds=1.0, store=True, queued_ago=1000 - i, max_attempts=2)
    cluster = clusters(JOB_STALE_SECONDS="600", ASR_BATCH_JOBS="8", TEST_CRASH_ON_FILE_NAME="poison")
    finished = Job.objects.filter(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])
    wait_for(lambda: finished.count() == 8, timeout=600, what="every job to finish", cluster=cluster)

    poison = Job.objects.get(media__original_name="poison-3.wav")
    # Killed in its batch (not charged), then twice alone: it has used its two attempts.
    assert list(poison.attempt_log.values_list("outcome", flat=True)) == ["lost", "lost", "lost"]
    assert poison.status == JobStatus.FAILED
    assert "stopped 3 times while transcribing this file" in poison.error and "memory" in poison.error
    first_batch = poison.attempt_log.get(number=1).batch
    assert JobAttempt.objects.filter(batch=first_batch).count() == 8
    for job in Job.objects.exclude(pk=poison.pk):
        assert job.status == JobStatus.SUCCEEDED and job.error == ""
        assert list(job.attempt_log.values_list("outcome", flat=True)) == ["lost", "succeeded"]
        assert (job.attempts, job.max_attempts) == (2, 3)  # the loss was not charged
