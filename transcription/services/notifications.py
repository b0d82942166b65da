"""What happens when a job reaches a final state: an email to its owner (if
they asked for one) and the project's webhooks, both sent by the outgoing
queue. Failures here are logged and never undo the job's result."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from portal.context_processors import site_name
from portal.models import Profile
from transcription.models import Job, Transcript
from transcription.services.webhooks import webhook_deliveries_create, webhook_deliveries_enqueue

log = logging.getLogger(__name__)


def job_email_finished(*, job: Job) -> bool:
    """Email the job's owner if their profile asks for it; True if sent."""
    user = job.created_by
    # A cancel is the user's own doing: no email for it.
    if user is None or not user.email or not (job.is_succeeded or job.is_failed):
        return False
    profile = Profile.objects.filter(user=user).first()
    if profile is None or not profile.email_on_finish:
        return False
    context = {
        "job": job,
        "user": user,
        "job_url": f"{settings.SITE_URL}{reverse('job', args=[job.pk])}",
        "project_url": f"{settings.SITE_URL}{reverse('project', args=[job.project_id])}",
    }
    with translation.override(profile.language or settings.LANGUAGE_CODE):
        context["portal_name"] = site_name()
        subject = render_to_string("transcription/email/job_finished_subject.txt", context).strip()
        body = render_to_string("transcription/email/job_finished.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


def review_request_email(*, transcript: Transcript, asker: User, reviewer: User) -> bool:
    """Tell the member asked to review a transcript (if they have an address); True if queued."""
    if not reviewer.email:
        return False
    profile = Profile.objects.filter(user=reviewer).first()
    context = {"transcript": transcript, "asker": asker, "reviewer": reviewer,
               "transcript_url": f"{settings.SITE_URL}{reverse('transcript', args=[transcript.pk])}"}
    with translation.override((profile.language if profile else "") or settings.LANGUAGE_CODE):
        context["portal_name"] = site_name()
        subject = render_to_string("transcription/email/review_request_subject.txt", context).strip()
        body = render_to_string("transcription/email/review_request.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [reviewer.email])
    return True


def job_notify_finished(*, job_id: Any) -> None:
    """Email and webhooks for a job that has just finished: the email and one
    delivery per webhook are queued for the outgoing cluster; nothing is sent from
    here, so neither the ASR worker nor a web request waits on a receiver."""
    job = Job.objects.select_related("project", "media", "created_by").filter(pk=job_id).first()
    if job is None or not job.is_finished:
        return
    try:
        job_email_finished(job=job)
    except Exception:
        log.exception("could not email the owner of job %s", job.pk)
    webhook_deliveries_enqueue(deliveries=webhook_deliveries_create(job=job, event=f"job.{job.status}"))
