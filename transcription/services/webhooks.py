"""Per-project webhooks: a signed JSON POST when a job finishes.

Each event for each webhook is a WebhookDelivery row (the record). Sending is
never done by an ASR worker or a web request: each delivery is a task on the
outgoing queue (its own django-q2 cluster), bounded by a whole-request
deadline, at most WEBHOOK_TEAM_CONCURRENCY of a team's at once, and retried
with exponential backoff (``webhook_deliveries_dispatch``, a schedule on that
queue). A receiver that stalls costs its own team a slot, nobody else anything.
The body is signed: ``X-Portal-Signature: sha256=<HMAC-SHA256(secret, raw body)>``.
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
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.actor import Actor
from portal.errors import Invalid
from portal.inputs import text_check
from portal.models import AuditAction, Project, Team
from portal.outgoing import outgoing_enqueue
from portal.services.audit import audit_record
from transcription.models import Job, Transcript, Webhook, WebhookDelivery
from transcription.services.webhook_targets import (
    DeadlineExceeded,
    TargetRefused,
    TargetUnresolved,
    webhook_post,
    webhook_url_check,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Portal-Signature"
PING = "ping"
DELIVERY_TASK = "transcription.tasks.send_webhook_delivery"
_url_validator = URLValidator(schemes=["http", "https"])


def webhook_create(*, actor: Actor, project: Project, url: str) -> Webhook:
    url = text_check((url or "").strip())
    webhook_url_check(url=url)  # internal addresses, in any notation, before the syntax check
    try:
        _url_validator(url)
    except ValidationError:
        raise Invalid(_("Enter a valid http:// or https:// URL.")) from None
    if len(url) > Webhook._meta.get_field("url").max_length:
        raise Invalid(_("This URL is too long."))
    if Webhook.objects.filter(project=project).count() >= settings.WEBHOOK_MAX_PER_PROJECT:
        raise Invalid(_("A project can have at most %(count)d webhooks. Remove one first.") % {
            "count": settings.WEBHOOK_MAX_PER_PROJECT})
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


def webhook_ping(*, actor: Actor, webhook: Webhook) -> WebhookDelivery:
    """Queue a test event, so an admin can check the receiving end. It is sent
    once, by the outgoing queue; the webhooks page shows the result."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=PING, next_attempt_at=timezone.now(),
        payload=webhook_payload(event=PING, project=webhook.project, job=None),
    )
    audit_record(actor=actor, action=AuditAction.WEBHOOK_TEST, team=webhook.project.team, obj=webhook)
    webhook_deliveries_enqueue(deliveries=[delivery])
    return delivery


def webhook_deliveries_enqueue(*, deliveries: list[WebhookDelivery]) -> None:
    """One task per delivery on the outgoing queue, once the rows are committed."""
    ids = [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(lambda: [outgoing_enqueue(DELIVERY_TASK, pk, task_name="webhook") for pk in ids],
                              robust=True)


def webhook_delivery_sending_soon(*, delivery: WebhookDelivery) -> bool:
    """Being sent now or due now: what the webhooks page keeps refreshing for."""
    now = timezone.now()
    return not delivery.succeeded and delivery.next_attempt_at is not None and (
        delivery.next_attempt_at <= now or (delivery.sending_until is not None and delivery.sending_until > now))


def _retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempt - 1))


def _max_attempts(delivery: WebhookDelivery) -> int:
    return 1 if delivery.event == PING else settings.WEBHOOK_MAX_ATTEMPTS  # a test is sent once


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
                              deadline=settings.WEBHOOK_TIMEOUT_SECONDS)
    except TargetRefused as e:
        return None, "", _("Not sent: %(reason)s") % {"reason": e.message}
    except TargetUnresolved:
        return None, "", _("Not sent: the host name could not be resolved.")
    except DeadlineExceeded:
        seconds = settings.WEBHOOK_TIMEOUT_SECONDS
        return None, "", ngettext("No complete answer within %(seconds)d second.",
                                  "No complete answer within %(seconds)d seconds.", seconds) % {"seconds": seconds}
    except (urllib3.exceptions.HTTPError, OSError) as e:
        return None, "", f"{type(e).__name__}: {e}"[:500]
    error = "" if 200 <= answer.status < 300 else _("The receiver answered HTTP %(code)d.") % {
        "code": answer.status}
    return answer.status, answer.excerpt, error


def _lease(delivery: WebhookDelivery, team_id: int, now: datetime) -> bool:
    """Mark the delivery as being sent, if it is still due, nobody else is sending it and its team
    has fewer than WEBHOOK_TEAM_CONCURRENCY deliveries in flight (the team's row is the lock)."""
    until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)  # a sender killed midway
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=team_id).exists()
        in_flight = WebhookDelivery.objects.filter(webhook__project__team_id=team_id, sending_until__gt=now)
        if in_flight.count() >= settings.WEBHOOK_TEAM_CONCURRENCY:
            return False
        return bool(WebhookDelivery.objects.filter(
            Q(sending_until__isnull=True) | Q(sending_until__lte=now),
            pk=delivery.pk, succeeded=False, next_attempt_at=delivery.next_attempt_at,
        ).update(sending_until=until))


def webhook_delivery_attempt(*, delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Make one attempt if the delivery is due, nobody else took it and its team has a free
    slot. Returns True if the receiver accepted it (2xx). Runs on the outgoing queue only."""
    now = now or timezone.now()
    if delivery.succeeded or delivery.next_attempt_at is None or delivery.next_attempt_at > now:
        return False
    webhook = Webhook.objects.select_related("project").get(pk=delivery.webhook_id)
    if not _lease(delivery, webhook.project.team_id, now):
        return False
    status_code, excerpt, error = _post(webhook, delivery)
    attempt = delivery.attempt + 1
    succeeded = not error
    if succeeded or attempt >= _max_attempts(delivery):
        next_attempt_at = None
    else:
        next_attempt_at = timezone.now() + _retry_delay(attempt)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempt=attempt, status_code=status_code, response_excerpt=excerpt, error=error, succeeded=succeeded,
        last_attempt_at=timezone.now(), next_attempt_at=next_attempt_at, sending_until=None,
    )
    if not succeeded:
        log.info("webhook delivery %s to %s failed (attempt %d): %s", delivery.pk, webhook.url, attempt, error)
    return succeeded


def webhook_delivery_send(*, delivery_id: Any) -> bool:
    """The outgoing task for one delivery; afterwards the team's next due deliveries are queued,
    so a team held back by its concurrency cap moves on as soon as a slot frees."""
    delivery = WebhookDelivery.objects.select_related("webhook__project").filter(pk=delivery_id).first()
    if delivery is None:
        return False
    try:
        return webhook_delivery_attempt(delivery=delivery)
    finally:
        webhook_deliveries_dispatch(team_id=delivery.webhook.project.team_id)


def _due(now: datetime):  # noqa: ANN202 - a queryset
    return (WebhookDelivery.objects.filter(succeeded=False, next_attempt_at__lte=now)
            .filter(Q(sending_until__isnull=True) | Q(sending_until__lte=now)))


def webhook_deliveries_dispatch(*, team_id: int | None = None, limit: int = 200) -> int:
    """Queue a task for each due delivery, at most as many per team as it has free slots.
    A duplicate task finds its delivery leased or done and returns."""
    now = timezone.now()
    due = _due(now).select_related("webhook__project").order_by("next_attempt_at")
    if team_id is not None:
        due = due.filter(webhook__project__team_id=team_id)
    slots: dict[int, int] = {}
    queued: list[WebhookDelivery] = []
    for delivery in due[:limit]:
        team = delivery.webhook.project.team_id
        if team not in slots:
            busy = WebhookDelivery.objects.filter(webhook__project__team_id=team, sending_until__gt=now).count()
            slots[team] = settings.WEBHOOK_TEAM_CONCURRENCY - busy
        if slots[team] > 0:
            slots[team] -= 1
            queued.append(delivery)
    webhook_deliveries_enqueue(deliveries=queued)
    return len(queued)
