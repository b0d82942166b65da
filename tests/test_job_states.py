"""The job state machine lives in one module: every transition moves only
rows in its source states, the predicates and their filter twins agree, and
nothing outside the module compares job status values."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.queue_support import make_job
from transcription import job_states
from transcription.job_states import JobStatus, Outcome, Stage
from transcription.models import Job, JobAttempt, Transcript

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def one_of_each(project, user) -> dict[str, Job]:
    return {status: make_job(project, user, status=status, name=f"{status}.wav") for status in JobStatus.values}


@pytest.mark.parametrize(("transition", "kwargs", "sources", "target"), [
    (job_states.claim, {"worker": "w"}, {JobStatus.QUEUED}, JobStatus.RUNNING),
    (job_states.succeed, {}, {JobStatus.RUNNING}, JobStatus.SUCCEEDED),
    (job_states.fail, {"error": "bad"}, {JobStatus.RUNNING}, JobStatus.FAILED),
    (job_states.stop, {}, {JobStatus.RUNNING}, JobStatus.CANCELLED),
    (job_states.cancel_queued, {}, {JobStatus.QUEUED}, JobStatus.CANCELLED),
    (job_states.retry, {}, {JobStatus.FAILED, JobStatus.CANCELLED}, JobStatus.QUEUED),
])
def test_it_moves_only_jobs_in_the_transitions_source_states(project, alice, transition, kwargs, sources, target):
    jobs = one_of_each(project, alice)
    count = transition(Job.objects.all(), now=timezone.now(), **kwargs)
    assert count == len(sources)
    for status, job in jobs.items():
        job.refresh_from_db()
        assert job.status == (target if status in sources else status)


def test_it_requeues_a_running_job_and_keeps_its_place_by_age(project, alice):
    jobs = one_of_each(project, alice)
    running = jobs[JobStatus.RUNNING]
    assert job_states.requeue(Job.objects.all(), error="The worker went away.") == 1
    running.refresh_from_db()
    assert (running.status, running.worker, running.error) == (JobStatus.QUEUED, "", "The worker went away.")
    assert running.queued_at == jobs[JobStatus.RUNNING].queued_at


def test_a_retry_grants_fresh_attempts_and_never_touches_a_job_with_a_transcript(project, alice):
    failed = make_job(project, alice, status=JobStatus.FAILED, attempts=3, max_attempts=3)
    kept = make_job(project, alice, status=JobStatus.FAILED)
    Transcript.objects.create(job=kept, text="kept")
    assert not job_states.can_retry(kept) and job_states.can_retry(failed)
    assert job_states.retry(Job.objects.all(), now=timezone.now()) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.max_attempts) == (
        JobStatus.QUEUED, 3, 3 + settings.JOB_MAX_ATTEMPTS)
    assert Job.objects.get(pk=kept.pk).status == JobStatus.FAILED


def test_a_running_job_asked_to_stop_stays_running_until_its_worker_stops(project, alice):
    running = make_job(project, alice, status=JobStatus.RUNNING)
    assert job_states.can_cancel(running)
    assert job_states.request_stop(Job.objects.filter(pk=running.pk)) == 1
    running.refresh_from_db()
    assert running.is_running and running.is_stopping and not running.can_cancel


def test_the_stale_filter_and_the_stale_predicate_agree(project, alice):
    now = timezone.now()
    old = now - timedelta(seconds=settings.JOB_STALE_SECONDS + 5)
    cases = {
        "beating": {"heartbeat_at": now, "started_at": old},
        "silent": {"heartbeat_at": old, "started_at": old},
        "never beat, started long ago": {"heartbeat_at": None, "started_at": old},
        "never beat, just started": {"heartbeat_at": None, "started_at": now},
        "no times at all": {"heartbeat_at": None, "started_at": None},
    }
    jobs = {label: make_job(project, alice, status=JobStatus.RUNNING, name=label) for label in cases}
    for label, fields in cases.items():
        Job.objects.filter(pk=jobs[label].pk).update(**fields)
    make_job(project, alice, status=JobStatus.QUEUED, name="waiting")
    stale_by_filter = set(Job.objects.filter(job_states.q_stale(now)).values_list("media__original_name", flat=True))
    stale_by_predicate = {job.media.original_name for job in Job.objects.select_related("media")
                          if job_states.is_stale(job, now)}
    assert stale_by_filter == stale_by_predicate == {"silent", "never beat, started long ago", "no times at all"}


def test_stages_and_outcomes_read_as_words(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING, stage=Stage.DECODING)
    assert job.stage_label == "Decoding audio"
    attempt = JobAttempt.objects.get(job=job)
    attempt.outcome = Outcome.LOST
    assert attempt.outcome_label == "Worker stopped responding"
    assert job_states.stage_label("something new") == "something new"


# A job status value compared in code or a template, other than through job_states.
_STATUS = "|".join(JobStatus.values)
COMPARISONS = [
    re.compile(rf"""status\s*[!=]=\s*["']({_STATUS})["']"""),
    re.compile(r"[!=]=\s*JobStatus\.|JobStatus\.\w+\s*[!=]="),
    re.compile(r"\bstatus__in\s*="),
    re.compile(r"""\bstatus\s*=\s*(JobStatus\.|["']({_STATUS})["'])""".replace("{_STATUS}", _STATUS)),
    re.compile(r"\.status\s+(not\s+)?in\s"),
]


def test_nothing_outside_the_job_state_module_compares_job_statuses():
    offenders = []
    paths = [*ROOT.glob("portal/**/*.py"), *ROOT.glob("transcription/**/*.py"), *ROOT.glob("api/**/*.py"),
             *ROOT.glob("templates/**/*.html"), *ROOT.glob("templates/**/*.txt")]
    for path in paths:
        if path.name in ("job_states.py", "llm_states.py") or "migrations" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if any(p.search(line) for p in COMPARISONS) and "review_status" not in line and "Export" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


def test_the_status_check_catches_the_usual_spellings():
    samples = ['{% if job.status == "running" %}', "if job.status == JobStatus.FAILED:",
               "Job.objects.filter(status__in=[1])", "qs.filter(status=JobStatus.QUEUED)", "if job.status in ACTIVE:"]
    assert all(any(p.search(s) for p in COMPARISONS) for s in samples)


def test_every_new_job_gets_the_configured_number_of_attempts(project, alice, settings):
    from transcription.models import MediaFile

    settings.JOB_MAX_ATTEMPTS = 5
    media = MediaFile.objects.create(project=project, uploaded_by=alice, original_name="a.wav", duration=1.0)
    job = Job.objects.create(project=project, media=media, created_by=alice)  # as the admin or a script would
    assert job.max_attempts == 5  # the model said 3 whatever JOB_MAX_ATTEMPTS said
