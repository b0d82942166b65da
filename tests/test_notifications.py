"""Email when my job finishes or fails, if I asked for it in my settings."""

from __future__ import annotations

import pytest
from django.utils import timezone

from portal.actor import Actor
from portal.models import Profile
from tests.queue_support import make_job, result
from transcription.models import JobStatus, WebhookDelivery
from transcription.services.claim import job_claim
from transcription.services.job_lifecycle import job_fail, job_finish
from transcription.services.notifications import job_notify_finished
from transcription.services.webhooks import webhook_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def wants_email(alice) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=alice)
    profile.email_on_finish = True
    profile.save()
    return profile


def test_it_emails_the_owner_when_the_transcript_is_ready(project, alice, wants_email, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    make_job(project, alice, name="interview.wav")
    job = job_claim(worker="w1")
    with django_capture_on_commit_callbacks(execute=True):
        job_finish(job_id=job.pk, worker="w1", attempt=job.attempts, result=result())
    [mail] = mailoutbox
    assert mail.to == ["alice@example.org"]
    assert mail.subject == "Transcript ready: interview.wav"
    assert f"/jobs/{job.pk}/" in mail.body and "Interviews" in mail.body


def test_it_emails_the_error_when_the_job_fails(project, alice, wants_email, mailoutbox,
                                                django_capture_on_commit_callbacks):
    make_job(project, alice, name="notes.wav")
    job = job_claim(worker="w1")
    with django_capture_on_commit_callbacks(execute=True):
        job_fail(job_id=job.pk, worker="w1", attempt=job.attempts, error="This file has no audio track.")
    [mail] = mailoutbox
    assert mail.subject == "Transcription failed: notes.wav"
    assert "This file has no audio track." in mail.body


def test_no_email_for_a_retry_or_for_people_who_did_not_ask(project, alice, bob, wants_email, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    make_job(project, alice)
    job = job_claim(worker="w1")
    with django_capture_on_commit_callbacks(execute=True):
        job_fail(job_id=job.pk, worker="w1", attempt=job.attempts, error="GPU out of memory", transient=True)
    assert mailoutbox == []  # requeued, not finished
    bobs = make_job(project, bob, status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    job_notify_finished(job_id=bobs.pk)
    assert mailoutbox == []


def test_no_email_when_i_cancel_my_own_job(project, alice, wants_email, mailoutbox):
    job = make_job(project, alice, status=JobStatus.CANCELLED, finished_at=timezone.now())
    job_notify_finished(job_id=job.pk)
    assert mailoutbox == []


def test_the_email_uses_my_language(project, alice, wants_email, mailoutbox):
    wants_email.language = "zh-hans"
    wants_email.save()
    job = make_job(project, alice, name="会议.wav", status=JobStatus.FAILED, error="x", finished_at=timezone.now())
    job_notify_finished(job_id=job.pk)
    assert "会议.wav" in mailoutbox[0].subject


def test_a_mail_server_outage_does_not_stop_the_webhooks(project, alice, wants_email, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    webhook_create(actor=Actor.of(alice), project=project, url="https://example.org/hook")
    job = make_job(project, alice, status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    job_notify_finished(job_id=job.pk)
    assert WebhookDelivery.objects.filter(job=job, event="job.succeeded").exists()
