"""Per-project webhooks: a signed JSON POST when a job finishes.

Each event for each webhook is a WebhookDelivery row (the record), sent at
once by the worker that finished the job and retried with exponential
backoff by ``webhook_deliveries_send_due`` (a django-q2 schedule, and between
jobs). The body is signed: ``X-Portal-Signature: sha256=<HMAC-SHA256(secret, raw body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Invalid
from portal.models import AuditAction, Project
from portal.services.audit import audit_record
from transcription.models import Job, Transcript, Webhook, WebhookDelivery
from transcription.services.webhook_targets import (
    TargetRefused,
    TargetUnresolved,
    webhook_post,
    webhook_url_check,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Portal-Signature"
_url_validator = URLValidator(schemes=["http", "https"])


def webhook_create(*, actor: Actor, project: Project, url: str) -> Webhook:
    url = (url or "").strip()
    webhook_url_check(url=url)  # internal addresses, in any notation, before the syntax check
    try:
        _url_validator(url)
    except ValidationError:
        raise Invalid(_("Enter a valid http:// or https:// URL.")) from None
    if len(url) > Webhook._meta.get_field("url").max_length:
        raise Invalid(_("This URL is too long."))
    webhook = Webhook.objects.create(project=project, url=url, secret=secrets.token_hex(32), created_by=actor.user)
    audit_record(actor=actor, action=AuditAction.WEBHOOK_ADD, team=project.team, obj=webhook)
    return webhook


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    audit_record(actor=actor, action=AuditAction.WEBHOOK_REMOVE, team=webhook.project.team, obj=webhook)
    webhook.delete()


def webhook_set_active(*, actor: Actor, webhook: Webhook, active: bool) -> Webhook:
    """Pause or resume deliveries (staff, from the admin)."""
    if webhook.active != active:
        Webhook.objects.filter(pk=webhook.pk).update(active=active)
        webhook.active = active
        audit_record(actor=actor, action=AuditAction.WEBHOOK_PAUSE, team=webhook.project.team, obj=webhook,
                     detail={"active": active})
    return webhook


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _transcript_link(job: Job) -> str | None:
    transcript_id = Transcript.objects.filter(job=job).values_list("pk", flat=True).first()
    if transcript_id is None:
        return None
    try:
        return _absolute(reverse("transcript", args=[transcript_id]))
    except NoReverseMatch:
        return _absolute(reverse("job", args=[job.pk]))


def webhook_payload(*, event: str, project: Project, job: Job | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event": event,
        "project": {"id": str(project.pk), "name": project.name},
        "job": None,
        "links": {"project": _absolute(reverse("project", args=[project.pk]))},
    }
    if job is not None:
        payload["job"] = {
            "id": str(job.pk), "status": job.status, "filename": job.media.original_name,
            "error": job.error, "audio_seconds": job.audio_seconds,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        }
        payload["links"].update(job=_absolute(reverse("job", args=[job.pk])), transcript=_transcript_link(job))
    return payload


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def webhook_signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_deliveries_create(*, job: Job, event: str) -> list[WebhookDelivery]:
    """One pending delivery per active webhook of the job's project."""
    now = timezone.now()
    payload = webhook_payload(event=event, project=job.project, job=job)
    return [
        WebhookDelivery.objects.create(webhook=hook, job=job, event=event, payload=payload, next_attempt_at=now)
        for hook in Webhook.objects.filter(project_id=job.project_id, active=True)
    ]


def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """Send a test event now, so an admin can check the receiving end."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="ping", next_attempt_at=timezone.now(),
        payload=webhook_payload(event="ping", project=webhook.project, job=None),
    )
    webhook_delivery_attempt(delivery=delivery)
    # A test is sent once; the admin sees the outcome right away.
    WebhookDelivery.objects.filter(pk=delivery.pk, succeeded=False).update(next_attempt_at=None)
    delivery.refresh_from_db()
    return delivery


def _retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempt - 1))


def _post(webhook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str, str]:
    """(status code, response excerpt, error)."""
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "transcription-portal-webhooks/1",
        SIGNATURE_HEADER: webhook_signature(secret=webhook.secret, body=body),
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.pk),
    }
    try:
        answer = webhook_post(url=webhook.url, body=body, headers=headers,
                              timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except TargetRefused as e:
        return None, "", _("Not sent: %(reason)s") % {"reason": e.message}
    except TargetUnresolved:
        return None, "", _("Not sent: the host name could not be resolved.")
    except (urllib3.exceptions.HTTPError, OSError) as e:
        return None, "", f"{type(e).__name__}: {e}"[:500]
    error = "" if 200 <= answer.status < 300 else _("The receiver answered HTTP %(code)d.") % {
        "code": answer.status}
    return answer.status, answer.excerpt, error


def webhook_delivery_attempt(*, delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Make one attempt if the delivery is due and nobody else took it.
    Returns True if the receiver accepted it (2xx)."""
    now = now or timezone.now()
    if delivery.succeeded or delivery.next_attempt_at is None:
        return False
    # Lease: move next_attempt_at past the request's timeout, conditionally on the value we saw.
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)
    if not WebhookDelivery.objects.filter(pk=delivery.pk, succeeded=False,
                                          next_attempt_at=delivery.next_attempt_at).update(next_attempt_at=lease):
        return False
    webhook = Webhook.objects.get(pk=delivery.webhook_id)
    status_code, excerpt, error = _post(webhook, delivery)
    attempt = delivery.attempt + 1
    succeeded = not error
    if succeeded or attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        next_attempt_at = None
    else:
        next_attempt_at = timezone.now() + _retry_delay(attempt)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempt=attempt, status_code=status_code, response_excerpt=excerpt, error=error,
        succeeded=succeeded, last_attempt_at=timezone.now(), next_attempt_at=next_attempt_at,
    )
    if not succeeded:
        log.info("webhook delivery %s to %s failed (attempt %d): %s", delivery.pk, webhook.url, attempt, error)
    return succeeded


def webhook_deliveries_send_due(*, limit: int = 100) -> int:
    """Attempt the deliveries whose time has come; returns how many were sent successfully."""
    now = timezone.now()
    due = WebhookDelivery.objects.filter(succeeded=False, next_attempt_at__lte=now).order_by("next_attempt_at")
    sent = 0
    for delivery in due[:limit]:
        sent += webhook_delivery_attempt(delivery=delivery, now=now)
    return sent
