"""The job lifecycle: running with the real (tiny) engine, heartbeats,
permanent and transient failures, the reaper, cancel and retry, and the
rule that a job never ends with two transcripts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from portal.actor import Actor
from tests.conftest import login
from tests.queue_support import broker_purge, broker_size, make_job, result
from transcription.asr import engine as engine_module
from transcription.models import Job, JobAttempt, JobStatus, Transcript
from transcription.services.claim import job_claim
from transcription.services.heartbeats import Heartbeats
from transcription.services.job_actions import JobStateError, job_cancel, job_retry
from transcription.services.job_lifecycle import Beat, job_fail, job_finish, job_heartbeat
from transcription.services.reaper import jobs_kick_idle_queue, jobs_reap_stale
from transcription.services.worker import jobs_run_claimed, worker_drain

pytestmark = pytest.mark.django_db


def claimed(project, user, worker: str = "w1", **kwargs) -> Job:
    job = make_job(project, user, **kwargs)
    got = job_claim(worker=worker)
    assert got is not None and got.pk == job.pk
    return got


def ids(job: Job, worker: str = "w1") -> dict:
    return {"job_id": job.pk, "worker": worker, "attempt": job.attempts}


# --- running with the real engine --------------------------------------------------------------
# Transactional: the heartbeat thread has its own connection and must see the committed claim.
worker_test = pytest.mark.django_db(transaction=True)


@worker_test
def test_a_worker_transcribes_a_queued_job(project, alice, asr_settings, speech):
    job = make_job(project, alice, name="speech.wav", store=False)
    job.media.file.save("speech.wav", ContentFile(speech[0].read_bytes()), save=True)
    assert worker_drain(worker="w1") == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.audio_seconds == pytest.approx(speech[0].stat().st_size / 32000, abs=0.1)
    assert job.processing_seconds > 0 and job.engine
    transcript = Transcript.objects.get(job=job)
    assert transcript.segments.count() >= 1
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == "succeeded" and attempt.ended_at is not None


@worker_test
def test_bad_media_fails_at_once_with_the_users_message(project, alice, asr_settings):
    job = make_job(project, alice, name="notes.wav")
    job.media.file.save("notes.wav", ContentFile(b"these are words, not audio\n" * 50), save=True)
    worker_drain(worker="w1")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1  # permanent: no retry
    assert "not an audio or video file" in job.error
    assert "MediaError" in job.traceback


@worker_test
def test_a_missing_stored_file_fails_with_a_clear_message(project, alice, asr_settings):
    job = make_job(project, alice, name="gone.wav", store=True)
    job.media.file.delete(save=False)
    worker_drain(worker="w1")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "missing" in job.error


@worker_test
def test_a_broken_engine_configuration_fails_at_once(project, alice, asr_settings, tmp_path, monkeypatch):
    asr_settings.ASR_MODEL = str(tmp_path / "no-such-model")
    job = make_job(project, alice, store=True)
    worker_drain(worker="w1")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    # the team reads a plain message; the setting to fix is kept for staff (test_readiness.py)
    assert job.is_not_set_up and "not set up" in job.error and "ASR_MODEL" in job.traceback


@worker_test
def test_a_running_job_stops_at_a_segment_boundary_when_cancelled(project, alice, asr_settings, speech,
                                                                  monkeypatch):
    job = claimed(project, alice)
    job.media.file.save("speech.wav", ContentFile(speech[0].read_bytes()), save=True)
    real_set = Heartbeats.set

    def cancel_midway(beats, job_id, *, stage=None, progress=None, now=False):
        real_set(beats, job_id, stage=stage, progress=progress, now=now)
        if stage is None and progress is not None:  # the engine reports progress: it is running
            job_cancel(actor=Actor.of(alice), job=job)  # the user presses Cancel
            beats._beat(job_id)  # and the next heartbeat brings the news

    monkeypatch.setattr(Heartbeats, "set", cancel_midway)
    assert jobs_run_claimed(jobs=[job], worker="w1") == {job.pk: "cancelled"}
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert not Transcript.objects.filter(job=job).exists()
    assert JobAttempt.objects.get(job=job).outcome == "cancelled"


@worker_test
def test_a_job_cancelled_before_transcription_never_loads_the_model(project, alice, speech, monkeypatch):
    job = claimed(project, alice)
    job.media.file.save("speech.wav", ContentFile(speech[0].read_bytes()), save=True)
    job_cancel(actor=Actor.of(alice), job=job)
    monkeypatch.setattr(engine_module, "get_engine", lambda *_a, **_k: pytest.fail("the model was loaded"))
    assert jobs_run_claimed(jobs=[job], worker="w1") == {job.pk: "cancelled"}


# --- heartbeats ----------------------------------------------------------------------------------

def test_heartbeats_report_progress_and_cancel_requests(project, alice):
    job = claimed(project, alice)
    assert job_heartbeat(**ids(job), progress=42.0, stage="transcribing") == Beat.OK
    job.refresh_from_db()
    assert (job.progress, job.stage) == (42.0, "transcribing")
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert job_heartbeat(**ids(job)) == Beat.CANCEL


def test_a_reaped_worker_learns_it_lost_the_job(project, alice):
    job = claimed(project, alice)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    jobs_reap_stale()
    assert job_heartbeat(**ids(job)) == Beat.LOST


# --- results and failures -----------------------------------------------------------------------

def test_finishing_writes_transcript_segments_and_status_together(project, alice):
    job = claimed(project, alice)
    assert job_finish(**ids(job), result=result("你好")) == "succeeded"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.transcript.text == "你好" and job.transcript.segments.count() == 1
    assert job.models_used == {"asr": "tiny-asr", "vad": "tiny-vad"}


def test_a_job_never_ends_with_two_transcripts(project, alice):
    job = claimed(project, alice)
    assert job_finish(**ids(job), result=result("one")) == "succeeded"
    assert job_finish(**ids(job), result=result("two")) is None
    assert Transcript.objects.filter(job=job).count() == 1
    assert Transcript.objects.get(job=job).text == "one"


def test_a_stale_worker_cannot_overwrite_the_job_after_it_was_reaped(project, alice):
    job = claimed(project, alice, worker="slow")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs_reap_stale().requeued == 1
    second = job_claim(worker="fast")
    assert second.pk == job.pk and second.attempts == 2
    assert job_finish(**ids(job, "slow"), result=result("stale")) is None
    assert job_fail(**ids(job, "slow"), error="late") is None
    assert job_finish(**ids(second, "fast"), result=result("fresh")) == "succeeded"
    assert list(Transcript.objects.filter(job=job).values_list("text", flat=True)) == ["fresh"]
    outcomes = list(JobAttempt.objects.filter(job=job).values_list("number", "outcome"))
    assert outcomes == [(1, "lost"), (2, "succeeded")]


def test_a_transient_error_requeues_until_attempts_run_out(project, alice):
    make_job(project, alice, max_attempts=2)
    for n in (1, 2):
        job = job_claim(worker="w1")
        outcome = job_fail(**ids(job), error="The GPU ran out of memory.", transient=True)
        assert outcome == ("requeued" if n == 1 else "failed")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error == "The GPU ran out of memory."


def test_a_permanent_error_fails_at_once(project, alice):
    job = claimed(project, alice)
    assert job_fail(**ids(job), error="This file has no audio track.", traceback="tb") == "failed"
    job.refresh_from_db()
    assert (job.status, job.error, job.traceback) == (JobStatus.FAILED, "This file has no audio track.", "tb")


# --- reaper --------------------------------------------------------------------------------------

def test_the_reaper_requeues_a_job_whose_worker_went_silent(project, alice, django_capture_on_commit_callbacks):
    job = claimed(project, alice)
    fresh = claimed(project, alice, worker="w2")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5), progress=60)
    broker_purge()
    with django_capture_on_commit_callbacks(execute=True):
        reaped = jobs_reap_stale()
    assert (reaped.requeued, reaped.failed) == (1, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.worker == "" and job.progress == 0
    assert "stopped responding" in job.error
    assert broker_size() == 1  # a worker is woken for it
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.RUNNING  # its heartbeat is recent


def test_the_reaper_gives_up_after_max_attempts(project, alice):
    # The first loss is not charged (it might have been a batch-mate's fault); the job then runs
    # alone, and each loss counts.
    make_job(project, alice, max_attempts=2)
    for _ in range(3):
        job = job_claim(worker="w1")
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
        jobs_reap_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert "stopped 3 times while transcribing this file" in job.error
    assert JobAttempt.objects.filter(job=job, outcome="lost").count() == 3


def test_the_reaper_finishes_a_cancel_the_dead_worker_could_not(project, alice):
    job = claimed(project, alice)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5), cancel_requested=True)
    assert jobs_reap_stale().cancelled == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_the_reaper_schedule_exists(transactional_db):
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"transcription.tasks.reap_stale_jobs", "transcription.tasks.send_due_webhooks"} <= funcs


def test_an_idle_cluster_is_woken_for_jobs_whose_wakeup_was_lost(project, alice):
    broker_purge()
    make_job(project, alice, queued_ago=3600)
    assert jobs_kick_idle_queue() is True
    assert broker_size() == 1
    make_job(project, alice, status=JobStatus.RUNNING)
    assert jobs_kick_idle_queue() is False  # busy workers will get to it


# --- cancel and retry ----------------------------------------------------------------------------

def test_cancelling_a_queued_job_is_immediate(project, alice):
    job = make_job(project, alice)
    job = job_cancel(actor=Actor.of(alice), job=job)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert job_claim(worker="w") is None


def test_a_finished_job_cannot_be_cancelled(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED)
    with pytest.raises(JobStateError):
        job_cancel(actor=Actor.of(alice), job=job)


def test_retry_requeues_a_failed_job_and_keeps_its_history(project, alice, django_capture_on_commit_callbacks):
    make_job(project, alice, max_attempts=1)
    job = job_claim(worker="w1")
    job_fail(**ids(job), error="bad", transient=True)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    broker_purge()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_retry(actor=Actor.of(alice), job=job)
    assert job.status == JobStatus.QUEUED and job.error == ""
    assert broker_size() == 1
    again = job_claim(worker="w2")
    assert again.pk == job.pk and again.attempts == 2
    assert list(JobAttempt.objects.filter(job=job).values_list("number", "outcome")) == [(1, "failed"), (2, "")]


def test_only_failed_or_cancelled_jobs_can_be_retried(project, alice):
    for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED):
        with pytest.raises(JobStateError):
            job_retry(actor=Actor.of(alice), job=make_job(project, alice, status=status))
    cancelled = make_job(project, alice, status=JobStatus.CANCELLED)
    assert job_retry(actor=Actor.of(alice), job=cancelled).status == JobStatus.QUEUED


# --- the web actions -----------------------------------------------------------------------------

def test_the_cancel_button_cancels_and_returns_to_the_page(project, alice):
    job = make_job(project, alice)
    response = login(alice).post(f"/jobs/{job.pk}/cancel/", {"next": "/queue/"})
    assert response.status_code == 302 and response["Location"] == "/queue/"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_cancelling_a_finished_job_answers_409(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED)
    response = login(alice).post(f"/jobs/{job.pk}/cancel/", HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json()["detail"] == "This job has already finished."
    page = login(alice).post(f"/jobs/{job.pk}/cancel/", follow=True)
    assert "This job has already finished." in page.content.decode()


def test_retrying_a_job_that_did_not_fail_answers_409(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED)
    response = login(alice).post(f"/jobs/{job.pk}/retry/", HTTP_ACCEPT="application/json")
    assert response.status_code == 409


def test_the_retry_button_requeues(project, alice):
    job = make_job(project, alice, status=JobStatus.FAILED, error="boom")
    response = login(alice).post(f"/jobs/{job.pk}/retry/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["status"] == "queued"


def test_it_never_redirects_off_site_after_an_action(project, alice):
    job = make_job(project, alice)
    response = login(alice).post(f"/jobs/{job.pk}/cancel/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/projects/{project.pk}/"


def test_retry_all_failed_requeues_only_failed_jobs(project, alice):
    failed = [make_job(project, alice, status=JobStatus.FAILED) for _ in range(3)]
    done = make_job(project, alice, status=JobStatus.SUCCEEDED)
    response = login(alice).post(f"/projects/{project.pk}/retry-failed/", follow=True)
    assert "3 failed jobs are queued again." in response.content.decode()
    assert set(Job.objects.filter(pk__in=[j.pk for j in failed]).values_list("status", flat=True)) == {"queued"}
    done.refresh_from_db()
    assert done.status == JobStatus.SUCCEEDED


def test_retry_all_counts_only_the_failed_jobs_the_member_may_retry(project, alice):
    """A job that failed because the server is not set up is staff's to requeue: the member's button
    neither counts it nor promises it."""
    make_job(project, alice, status=JobStatus.FAILED)
    stuck = make_job(project, alice, status=JobStatus.FAILED, not_set_up=True)
    page = login(alice).get(f"/projects/{project.pk}/").content.decode()
    assert "Retry 1 failed job" in page and "Retry all 2 failed jobs" not in page
    response = login(alice).post(f"/projects/{project.pk}/retry-failed/", follow=True)
    assert "1 failed job is queued again." in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.FAILED
    assert "/retry-failed/" not in login(alice).get(f"/projects/{project.pk}/").content.decode()


@pytest.mark.parametrize("path", ["/jobs/{job}/cancel/", "/jobs/{job}/retry/", "/projects/{project}/retry-failed/"])
def test_viewers_get_403_outsiders_404_and_anonymous_the_login_page(path, project, alice, bob, charlie, client):
    job = make_job(project, alice, status=JobStatus.FAILED)
    url = path.format(job=job.pk, project=project.pk)
    assert login(bob).post(url).status_code == 403
    assert login(charlie).post(url).status_code == 404
    response = client.post(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
