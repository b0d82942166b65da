"""A project's webhooks: project admins add and remove them, send a test
event, and see recent delivery attempts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.access import get_project_for_user
from portal.actor import Actor
from portal.errors import DomainError
from transcription.models import Webhook, WebhookDelivery
from transcription.services.webhooks import (
    SIGNATURE_HEADER,
    webhook_create,
    webhook_delete,
    webhook_delivery_sending_soon,
    webhook_ping,
)

RECENT_DELIVERIES = 50


def _deliveries(project) -> dict[str, object]:  # noqa: ANN001 - a Project with its membership
    deliveries = list(WebhookDelivery.objects.filter(webhook__project=project)
                      .select_related("webhook", "job__media")[:RECENT_DELIVERIES])
    return {"project": project, "deliveries": deliveries,
            "sending": any(webhook_delivery_sending_soon(delivery=d) for d in deliveries)}


def _render(request: HttpRequest, project, *, url: str = "", error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "transcription/webhooks.html", {
        **_deliveries(project),
        "membership": project.membership,
        "webhooks": project.webhooks.all(),
        "signature_header": SIGNATURE_HEADER,
        "url": url,
        "error": error,
    }, status=status)


@login_required
def project_webhooks(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, manage=True)
    if request.headers.get("HX-Request") == "true":  # the deliveries list, polled while one is being sent
        return render(request, "transcription/partials/webhook_deliveries.html", _deliveries(project))
    return _render(request, project)


@login_required
@require_POST
def webhook_add(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, manage=True)
    url = request.POST.get("url", "")
    try:
        webhook_create(actor=Actor.from_request(request), project=project, url=url)
    except DomainError as e:
        return _render(request, project, url=url, error=e.message, status=e.status)
    messages.success(request, _("Webhook added. Use its secret to check the signature of each request."))
    return redirect("project_webhooks", project_id=project.pk)


def _webhook(request: HttpRequest, project_id: str, webhook_id: int) -> Webhook:
    project = get_project_for_user(request.user, project_id, manage=True)
    return get_object_or_404(Webhook, pk=webhook_id, project=project)


@login_required
@require_POST
def webhook_remove(request: HttpRequest, project_id: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, project_id, webhook_id)
    webhook_delete(actor=Actor.from_request(request), webhook=webhook)
    messages.success(request, _("Webhook removed."))
    return redirect("project_webhooks", project_id=webhook.project_id)


@login_required
@require_POST
def webhook_test(request: HttpRequest, project_id: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, project_id, webhook_id)
    webhook_ping(actor=Actor.from_request(request), webhook=webhook)
    messages.success(request, _("Test event queued. Its result appears under Recent deliveries in a few seconds."))
    return redirect("project_webhooks", project_id=webhook.project_id)
