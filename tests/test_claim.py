"""Claiming: atomic under concurrency (threads and processes), in the order
priority → fair share → age, and harmless when a wake-up finds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from portal.actor import Actor
from portal.models import Membership, Project, Role
from tests.queue_support import make_job
from transcription import tasks
from transcription.models import Job, JobAttempt, JobStatus, MediaFile
from transcription.services.claim import job_claim
from transcription.services.job_actions import jobs_set_priority

ROOT = Path(__file__).resolve().parent.parent


def _claim_in_threads(n_threads: int, rounds: int) -> list[str]:
    barrier = threading.Barrier(n_threads)
    claimed: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                job = job_claim(worker=f"thread-{i}")
                if job is not None:
                    with lock:
                        claimed.append(str(job.pk))
        except BaseException as e:  # noqa: BLE001 - surfaced below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return claimed


@pytest.mark.django_db(transaction=True)
def test_it_gives_a_job_to_exactly_one_of_many_threads(project, alice):
    job = make_job(project, alice)
    claimed = _claim_in_threads(6, rounds=1)
    assert claimed == [str(job.pk)]
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 1
    assert JobAttempt.objects.filter(job=job).count() == 1


@pytest.mark.django_db(transaction=True)
def test_threads_claiming_many_jobs_never_share_one(project, alice):
    jobs = [make_job(project, alice, name=f"{i}.wav", queued_ago=100 - i) for i in range(8)]
    claimed = _claim_in_threads(4, rounds=4)
    assert sorted(claimed) == sorted(str(j.pk) for j in jobs)
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}


CLAIMER = """
import json, os, sys, time
import django
django.setup()
from transcription.services.claim import job_claim
go, ready = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
claimed = []
while (job := job_claim(worker=f"proc-{os.getpid()}")) is not None:
    claimed.append(str(job.pk))
print(json.dumps(claimed))
"""


@pytest.mark.django_db(transaction=True)
def test_separate_processes_never_claim_the_same_job(project, alice, worker_env, tmp_path):
    """Real processes on the real database: SKIP LOCKED on PostgreSQL, the
    IMMEDIATE write lock on SQLite."""
    jobs = [make_job(project, alice, name=f"{i}.wav", queued_ago=100 - i) for i in range(6)]
    go = tmp_path / "go"
    procs, ready_files = [], []
    try:
        for i in range(4):
            ready = tmp_path / f"ready{i}"
            ready_files.append(ready)
            procs.append(subprocess.Popen([sys.executable, "-c", CLAIMER, str(go), str(ready)], cwd=ROOT,
                                          env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready_files):
            assert time.monotonic() < deadline, "claimer processes did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(p.returncode == 0 for p in procs), outputs
    per_process = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    claimed = [pk for ids in per_process for pk in ids]
    assert sorted(claimed) == sorted(str(j.pk) for j in jobs)
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(Job.objects.values_list("status", flat=True)) == {JobStatus.RUNNING}


@pytest.fixture
def dave(team) -> User:
    user = User.objects.create_user("dave", "dave@example.org", "password")
    Membership.objects.create(team=team, user=user, role=Role.MEMBER)
    return user


def test_one_users_500_files_do_not_starve_anothers_single_file(project, alice, dave):
    now = timezone.now()
    media = MediaFile.objects.bulk_create(
        MediaFile(project=project, uploaded_by=alice, original_name=f"alice-{i}.wav", file=f"media/x/{i}")
        for i in range(500)
    )
    alice_jobs = Job.objects.bulk_create(
        Job(project=project, media=m, created_by=alice, queued_at=now - timedelta(seconds=1000 - i))
        for i, m in enumerate(media)
    )
    daves = make_job(project, dave, name="dave.wav")  # the newest of all
    first = job_claim(worker="w1")
    second = job_claim(worker="w2")
    # Nothing was running: the oldest goes first. Then Alice has one running
    # and Dave none, so Dave's file is next, ahead of 499 older files.
    assert first.pk == alice_jobs[0].pk
    assert second.pk == daves.pk
    assert job_claim(worker="w3").pk == alice_jobs[1].pk


def test_fair_share_counts_running_jobs_not_queued_ones(project, alice, dave):
    make_job(project, alice, status=JobStatus.RUNNING)
    make_job(project, alice, status=JobStatus.RUNNING)
    make_job(project, dave, status=JobStatus.RUNNING)
    older = make_job(project, alice, name="alice-old.wav", queued_ago=500)
    newer = make_job(project, dave, name="dave-new.wav", queued_ago=5)
    assert job_claim(worker="w").pk == newer.pk  # Dave runs 1 job, Alice 2
    assert job_claim(worker="w").pk == older.pk


def test_priority_comes_before_fair_share_and_age(project, alice, dave):
    make_job(project, alice, status=JobStatus.RUNNING)
    old = make_job(project, dave, name="old.wav", queued_ago=900)
    urgent = make_job(project, alice, name="urgent.wav", queued_ago=1)
    assert jobs_set_priority(actor=Actor.system(), queryset=Job.objects.filter(pk=urgent.pk), delta=5) == 1
    assert job_claim(worker="w").pk == urgent.pk
    assert job_claim(worker="w").pk == old.pk


def test_age_decides_between_equals(project, alice):
    newer = make_job(project, alice, name="new.wav", queued_ago=10)
    older = make_job(project, alice, name="old.wav", queued_ago=20)
    assert [job_claim(worker="w").pk, job_claim(worker="w").pk] == [older.pk, newer.pk]


def test_only_queued_jobs_are_claimed(project, alice):
    for status in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        make_job(project, alice, status=status)
    assert job_claim(worker="w") is None


def test_priority_changes_only_touch_queued_jobs(project, alice):
    queued = make_job(project, alice)
    running = make_job(project, alice, status=JobStatus.RUNNING)
    assert jobs_set_priority(actor=Actor.system(), queryset=Job.objects.all(), delta=10_000) == 1
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.priority == 1000  # clamped
    assert running.priority == 0


def test_a_duplicate_wakeup_claims_nothing_and_changes_nothing(project, alice, other_project):
    job = make_job(project, alice, status=JobStatus.RUNNING, progress=40, stage="transcribing")
    before = Job.objects.values().get(pk=job.pk)
    assert tasks.run_next_job() is None
    assert Job.objects.values().get(pk=job.pk) == before
    assert JobAttempt.objects.filter(job=job).count() == 1


@pytest.fixture
def other_project(team, alice) -> Project:
    return Project.objects.create(team=team, name="Other", created_by=alice)
