"""Staff steer jobs in the Django admin: the list, filters, search, the
bulk actions (bounded queries on hundreds of rows) and the job page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import Membership, Project, Role, Team
from tests.conftest import login
from tests.ops_support import make_job, make_jobs, make_staff
from tests.queue_support import broker_purge, broker_size, outgoing_purge, outgoing_size
from transcription.admin.common import url_or_none
from transcription.models import Job, JobAttempt, JobStatus, Transcript

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/transcription/job/"


@pytest.fixture
def staff(db):
    return make_staff()


def run_action(client: Client, action: str, jobs):
    """POST the action (no redirect followed, so a query count covers the
    action alone); the messages land on the next page."""
    data = {"action": action, "_selected_action": [str(j.pk) for j in jobs], "index": 0}
    return client.post(CHANGELIST, data)


def followed(client: Client, response):
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_it_lists_jobs_with_user_team_timings_and_rtf_in_bounded_queries(project, alice, charlie, staff,
                                                                         django_assert_max_num_queries):
    beta = Team.objects.create(name="Beta")
    Membership.objects.create(team=beta, user=charlie, role=Role.OWNER)
    beta_project = Project.objects.create(team=beta, name="Podcasts", created_by=charlie)
    now = timezone.now()
    make_jobs(project, 45, name="alpha", status=JobStatus.SUCCEEDED, worker="gpu-1:42", audio_seconds=600.0,
              processing_seconds=60.0, queued_at=now, started_at=now, finished_at=now)
    make_jobs(beta_project, 45, name="beta", status=JobStatus.QUEUED, queued_at=now)
    client = login(staff)
    client.get(CHANGELIST)  # warm the session and content types
    with django_assert_max_num_queries(14):
        r = client.get(CHANGELIST)
    assert r.status_code == 200
    html = r.content.decode()
    assert "alpha-0.wav" in html and "beta-0.wav" in html
    assert "Alpha" in html and "Beta" in html and "alice" in html and "charlie" in html
    assert "gpu-1:42" in html and "0.100" in html  # RTF of 60 s processing for 600 s of audio
    assert "10:00" in html  # audio length
    assert 'value="retry_jobs"' in html and 'value="mark_reviewed"' in html


def test_it_filters_by_status_team_worker_and_error(project, staff):
    ok = make_job(project, name="fine.wav", status=JobStatus.SUCCEEDED, worker="gpu-1")
    bad = make_job(project, name="broken.wav", status=JobStatus.FAILED, worker="gpu-2", error="Not an audio file.")
    client = login(staff)

    def listed(query: str) -> set[str]:
        r = client.get(f"{CHANGELIST}?{query}")
        assert r.status_code == 200
        return {j.media.original_name for j in r.context["cl"].result_list}

    assert listed("status__exact=failed") == {"broken.wav"}
    assert listed("has_error=yes") == {"broken.wav"}
    assert listed("has_error=no") == {"fine.wav"}
    assert listed("worker_name=gpu-1") == {"fine.wav"}
    assert listed(f"project__team__id__exact={project.team_id}") == {"fine.wav", "broken.wav"}
    assert listed("reviewed=no") == {"fine.wav", "broken.wav"}
    assert ok.pk and bad.pk


def test_it_searches_by_filename_username_and_id(project, alice, charlie, staff):
    mine = make_job(project, name="interview-berlin.mp3", user=alice)
    other = make_job(project, name="meeting.wav", user=charlie)
    client = login(staff)

    def found(q: str) -> set[str]:
        return {j.media.original_name for j in client.get(CHANGELIST, {"q": q}).context["cl"].result_list}

    assert found("berlin") == {"interview-berlin.mp3"}
    assert found("charlie") == {"meeting.wav"}
    assert found(str(other.pk)) == {"meeting.wav"}
    assert found(str(mine.pk)[:8]) == {"interview-berlin.mp3"}


def test_it_retries_hundreds_of_failed_jobs_in_bounded_queries(project, staff, django_assert_max_num_queries,
                                                                django_capture_on_commit_callbacks):
    failed = make_jobs(project, 300, status=JobStatus.FAILED, attempts=3, max_attempts=3, error="Out of memory",
                       traceback="Traceback ...", finished_at=timezone.now())
    done = make_job(project, name="done.wav", status=JobStatus.SUCCEEDED)
    client = login(staff)
    client.get(CHANGELIST)
    broker_purge()
    outgoing_purge()
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(20):
        r = run_action(client, "retry_jobs", [*failed, done])
    assert messages_of(followed(client, r)) == [
        "Requeued 300 jobs. 1 skipped: only failed or cancelled jobs can be retried."]
    jobs = Job.objects.filter(pk__in=[j.pk for j in failed])
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.QUEUED}
    assert set(jobs.values_list("error", "traceback", "finished_at")) == {("", "", None)}
    # Attempts keep counting; the retry grants a fresh set.
    assert set(jobs.values_list("attempts", "max_attempts")) == {(3, 3 + settings.JOB_MAX_ATTEMPTS)}
    assert Job.objects.get(pk=done.pk).status == JobStatus.SUCCEEDED
    # One wake-up per requeued job reaches the broker once the change commits.
    assert len(callbacks) == 1
    callbacks[0]()
    assert broker_size() == 300


def test_it_does_not_retry_a_job_that_already_has_a_transcript(project, staff):
    job = make_job(project, status=JobStatus.FAILED)
    Transcript.objects.create(job=job, text="kept")
    client = login(staff)
    r = run_action(client, "retry_jobs", [job])
    assert "Requeued 0 jobs. 1 skipped" in messages_of(followed(client, r))[0]
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_it_cancels_queued_jobs_and_asks_running_ones_to_stop(project, staff, django_assert_max_num_queries,
                                                              django_capture_on_commit_callbacks):
    queued = make_jobs(project, 250, name="q", status=JobStatus.QUEUED, queued_at=timezone.now())
    running = make_jobs(project, 50, name="r", status=JobStatus.RUNNING, worker="gpu-1",
                        started_at=timezone.now(), heartbeat_at=timezone.now())
    done = make_job(project, name="done.wav", status=JobStatus.SUCCEEDED)
    client = login(staff)
    client.get(CHANGELIST)
    broker_purge()
    outgoing_purge()
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(20):
        r = run_action(client, "cancel_jobs", [*queued, *running, done])
    assert messages_of(followed(client, r)) == [
        "Cancelled 250 queued jobs. 50 running jobs will stop at their next segment. "
        "1 skipped: they had already finished."
    ]
    q = Job.objects.filter(pk__in=[j.pk for j in queued])
    assert set(q.values_list("status", flat=True)) == {JobStatus.CANCELLED}
    assert q.filter(finished_at__isnull=True).count() == 0
    rn = Job.objects.filter(pk__in=[j.pk for j in running])
    assert set(rn.values_list("status", "cancel_requested")) == {(JobStatus.RUNNING, True)}
    assert Job.objects.get(pk=done.pk).status == JobStatus.SUCCEEDED
    # Notifications for the cancelled jobs go to one background task, on the outgoing queue.
    assert len(callbacks) == 1
    callbacks[0]()
    assert (broker_size(), outgoing_size()) == (0, 1)


def test_it_sends_the_cancel_notifications_from_the_background_task(project, staff):
    from transcription.models import Webhook, WebhookDelivery
    from transcription.services.job_actions import jobs_notify_finished

    Webhook.objects.create(project=project, url="https://example.org/hook", secret="s")
    jobs = make_jobs(project, 3, status=JobStatus.CANCELLED, finished_at=timezone.now())
    assert jobs_notify_finished(job_ids=[str(j.pk) for j in jobs]) == 3
    assert sorted(WebhookDelivery.objects.values_list("event", flat=True)) == ["job.cancelled"] * 3


def test_it_raises_and_lowers_the_priority_of_queued_jobs(project, staff, django_assert_max_num_queries):
    queued = make_jobs(project, 300, status=JobStatus.QUEUED, priority=0)
    running = make_job(project, name="busy.wav", status=JobStatus.RUNNING, priority=0)
    client = login(staff)
    client.get(CHANGELIST)
    broker_purge()
    with django_assert_max_num_queries(20):
        r = run_action(client, "raise_priority", [*queued, running])
    assert messages_of(followed(client, r)) == [
        "Raised the priority of 300 queued jobs. 1 skipped: only queued jobs wait in priority order."]
    run_action(client, "raise_priority", queued[:1])
    run_action(client, "lower_priority", queued[1:2])
    priorities = dict(Job.objects.values_list("pk", "priority"))
    assert priorities[queued[0].pk] == 2 and priorities[queued[1].pk] == 0 and priorities[queued[2].pk] == 1
    assert priorities[running.pk] == 0


def test_it_marks_finished_jobs_reviewed(project, staff, django_assert_max_num_queries):
    finished = make_jobs(project, 300, status=JobStatus.FAILED, finished_at=timezone.now())
    queued = make_job(project, name="waiting.wav", status=JobStatus.QUEUED)
    client = login(staff)
    client.get(CHANGELIST)
    broker_purge()
    with django_assert_max_num_queries(20):
        r = run_action(client, "mark_reviewed", [*finished, queued])
    assert messages_of(followed(client, r)) == [
        "Marked 300 jobs as checked. 1 skipped: already checked or not finished yet."]
    reviewed = Job.objects.filter(pk__in=[j.pk for j in finished])
    assert set(reviewed.values_list("reviewed_by", flat=True)) == {staff.pk}
    assert reviewed.filter(reviewed_at__isnull=True).count() == 0
    assert Job.objects.get(pk=queued.pk).reviewed_at is None
    assert {j.media.original_name for j in login(staff).get(CHANGELIST, {"reviewed": "no"}).context["cl"].result_list} \
        == {"waiting.wav"}


def test_it_refuses_admin_actions_to_non_staff(project, alice):
    job = make_job(project, status=JobStatus.FAILED)
    r = login(alice).post(CHANGELIST, {"action": "retry_jobs", "_selected_action": [str(job.pk)]})
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    r = login(alice).post(f"{CHANGELIST}{job.pk}/retry/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    r = Client().post(CHANGELIST, {"action": "cancel_jobs", "_selected_action": [str(job.pk)]})
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_it_refuses_actions_to_staff_who_may_only_view_jobs(project):
    viewer = make_staff("vera", superuser=False, perms=("view_job",))
    job = make_job(project, status=JobStatus.FAILED)
    client = login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert 'value="retry_jobs"' not in page.content.decode()
    run_action(client, "retry_jobs", [job])
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
    assert client.post(f"{CHANGELIST}{job.pk}/retry/").status_code == 403
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_it_shows_error_traceback_attempts_timings_and_links_on_the_job_page(project, staff):
    t0 = timezone.now() - timedelta(hours=1)
    job = make_job(project, name="speech.m4a", status=JobStatus.SUCCEEDED, attempts=2, worker="gpu-7:99",
                   error="", traceback="", queued_at=t0, started_at=t0 + timedelta(seconds=90),
                   finished_at=t0 + timedelta(seconds=390), audio_seconds=1200.0, processing_seconds=300.0)
    JobAttempt.objects.create(job=job, number=1, worker="gpu-3:11", started_at=t0, ended_at=t0, outcome="lost",
                              error="The worker stopped responding")
    JobAttempt.objects.create(job=job, number=2, worker="gpu-7:99", started_at=t0, outcome="succeeded")
    transcript = Transcript.objects.create(job=job, text="你好")
    failed = make_job(project, name="noise.bin", status=JobStatus.FAILED, error="This file has no audio track.",
                      traceback='Traceback (most recent call last):\n  File "audio.py"\nMediaError: <no audio>')
    client = login(staff)

    html = client.get(f"{CHANGELIST}{job.pk}/change/").content.decode()
    assert "speech.m4a" in html and "gpu-3:11" in html and "The worker stopped responding" in html
    assert "1:30" in html and "5:00" in html and "20:00" in html and "0.250" in html  # wait, run, audio, RTF
    assert reverse("admin:transcription_mediafile_change", args=[job.media_id]) in html
    assert reverse("admin:transcription_mediafile_download", args=[job.media_id]) in html
    assert reverse("admin:transcription_transcript_change", args=[transcript.pk]) in html
    if url_or_none("transcript", transcript.pk):  # the workspace page, for staff who are team members
        assert url_or_none("transcript", transcript.pk) in html

    html = client.get(f"{CHANGELIST}{failed.pk}/change/").content.decode()
    assert "This file has no audio track." in html
    assert "MediaError: &lt;no audio&gt;" in html  # escaped, shown whole
    assert "Retry job" in html and "Cancel job" not in html


def test_it_retries_and_cancels_one_job_from_its_page(project, staff):
    failed = make_job(project, name="a.wav", status=JobStatus.FAILED, error="boom")
    queued = make_job(project, name="b.wav", status=JobStatus.QUEUED)
    client = login(staff)
    assert client.get(f"{CHANGELIST}{failed.pk}/retry/").status_code == 403  # POST only
    r = client.post(f"{CHANGELIST}{failed.pk}/retry/")
    assert messages_of(followed(client, r)) == ["The job is queued again."]
    assert Job.objects.get(pk=failed.pk).status == JobStatus.QUEUED
    r = client.post(f"{CHANGELIST}{queued.pk}/cancel/")
    assert messages_of(followed(client, r)) == ["The job is cancelled."]
    assert Job.objects.get(pk=queued.pk).status == JobStatus.CANCELLED
    r = client.post(f"{CHANGELIST}{queued.pk}/cancel/")
    assert messages_of(followed(client, r)) == ["This job has already finished."]
    assert client.post(f"{CHANGELIST}not-a-uuid/retry/").status_code == 404


def test_it_saves_only_what_staff_edited_on_the_job_page(project, staff):
    job = make_job(project, status=JobStatus.QUEUED, priority=0, max_attempts=3)
    client = login(staff)
    client.get(f"{CHANGELIST}{job.pk}/change/")
    # A worker claims the job while the form is open.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker="gpu-1", attempts=1)
    r = client.post(f"{CHANGELIST}{job.pk}/change/", {
        "priority": "5", "max_attempts": "3",
        "attempt_log-TOTAL_FORMS": "0", "attempt_log-INITIAL_FORMS": "0",
        "attempt_log-MIN_NUM_FORMS": "0", "attempt_log-MAX_NUM_FORMS": "0",
    })
    assert r.status_code == 302
    job.refresh_from_db()
    assert (job.priority, job.status, job.worker, job.attempts) == (5, JobStatus.RUNNING, "gpu-1", 1)


def test_it_cannot_add_jobs_by_hand(staff):
    assert login(staff).get(f"{CHANGELIST}add/").status_code == 403
