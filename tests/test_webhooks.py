"""Per-project webhooks: a signed JSON POST to a real local HTTP server,
retries with backoff, delivery history, and the admin-only page."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import TestCase
from django.utils import timezone

from portal.actor import Actor
from portal.models import Membership, Role
from tests.conftest import login
from tests.queue_support import make_job, outgoing_purge, outgoing_run
from transcription.models import JobStatus, Transcript, Webhook, WebhookDelivery
from transcription.services.notifications import job_notify_finished
from transcription.services.webhooks import webhook_create
from transcription.tasks import send_due_webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    """The receivers here listen on loopback, on a port of their own, which webhooks reach only where
    the operator allows it."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:*"]
    outgoing_purge()


def notify(job) -> None:
    """A job's final state committed, then the outgoing cluster's work done."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        job_notify_finished(job_id=job.pk)
    outgoing_run()


def retry_due() -> int:
    """The retry schedule's run on the outgoing queue; returns how many deliveries it queued."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        queued = send_due_webhooks()
    outgoing_run()
    return queued


def make_due() -> None:
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


class Receiver:
    """A local HTTP endpoint that records what it receives."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/portal"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def finished_job(project, alice, status=JobStatus.SUCCEEDED, **fields):
    return make_job(project, alice, name="会议.wav", status=status, finished_at=timezone.now(), **fields)


def test_a_finished_job_is_posted_signed_to_the_projects_webhook(project, alice, receiver):
    hook = webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    job = finished_job(project, alice)
    transcript = Transcript.objects.create(job=job, text="hi")
    notify(job)
    [request] = receiver.requests
    assert request["path"] == "/hooks/portal"
    expected = "sha256=" + hmac.new(hook.secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Portal-Signature"] == expected
    assert request["headers"]["Content-Type"].startswith("application/json")
    payload = json.loads(request["body"])
    assert payload["event"] == "job.succeeded"
    assert payload["job"]["id"] == str(job.pk) and payload["job"]["status"] == "succeeded"
    assert payload["job"]["filename"] == "会议.wav" and payload["job"]["error"] == ""
    assert payload["project"] == {"id": str(project.pk), "name": project.name}
    assert payload["links"]["job"].endswith(f"/jobs/{job.pk}/")
    assert payload["links"]["transcript"].endswith(f"/transcripts/{transcript.pk}/")
    delivery = WebhookDelivery.objects.get()
    assert delivery.succeeded and delivery.attempt == 1 and delivery.status_code == 200
    assert delivery.response_excerpt == "thanks" and delivery.next_attempt_at is None


def test_a_failed_job_sends_its_error(project, alice, receiver):
    webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    job = finished_job(project, alice, status=JobStatus.FAILED, error="This file has no audio track.")
    notify(job)
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["event"] == "job.failed"
    assert payload["job"]["error"] == "This file has no audio track."
    assert payload["links"]["transcript"] is None


def test_failed_deliveries_are_retried_with_growing_delays(project, alice, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    receiver.status = 503
    notify(finished_job(project, alice))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempt, delivery.succeeded, delivery.status_code) == (1, False, 503)
    first_delay = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_delay == pytest.approx(timedelta(seconds=30), abs=timedelta(seconds=2))
    assert retry_due() == 0 and len(receiver.requests) == 1  # not due yet

    make_due()
    assert retry_due() == 1
    delivery.refresh_from_db()
    assert delivery.attempt == 2
    second_delay = delivery.next_attempt_at - delivery.last_attempt_at
    assert second_delay == pytest.approx(timedelta(seconds=120), abs=timedelta(seconds=2))

    receiver.status = 204
    make_due()
    assert retry_due() == 1
    delivery.refresh_from_db()
    assert delivery.succeeded and delivery.attempt == 3 and delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    assert len({r["body"] for r in receiver.requests}) == 1  # every attempt carries the same signed body


def test_it_gives_up_after_the_last_attempt(project, alice, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    webhook_create(actor=Actor.of(alice), project=project, url="http://127.0.0.1:9/nothing-listens-here")
    notify(finished_job(project, alice))
    make_due()
    retry_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempt == 2 and not delivery.succeeded and delivery.next_attempt_at is None
    assert "ConnectionError" in delivery.error


def test_web_actions_leave_delivery_to_the_outgoing_queue(project, alice, receiver,
                                                          django_capture_on_commit_callbacks):
    webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    job = make_job(project, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(alice).post(f"/jobs/{job.pk}/cancel/", HTTP_ACCEPT="application/json")
    assert response.json()["status"] == "cancelled"
    assert receiver.requests == []  # the request did not wait on the receiver
    assert WebhookDelivery.objects.get().event == "job.cancelled"
    assert outgoing_run() == ["transcription.tasks.send_webhook_delivery"]
    assert json.loads(receiver.requests[0]["body"])["event"] == "job.cancelled"


def test_a_delivery_is_sent_once_even_if_two_senders_race(project, alice, receiver):
    webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    with TestCase.captureOnCommitCallbacks(execute=True):
        job_notify_finished(job_id=finished_job(project, alice).pk)
    stale = WebhookDelivery.objects.get()
    assert retry_due() == 1  # the schedule queued it a second time
    assert outgoing_run() == []
    from transcription.services.webhooks import webhook_delivery_attempt

    assert webhook_delivery_attempt(delivery=stale) is False  # the other sender's view is out of date
    assert len(receiver.requests) == 1


def test_inactive_webhooks_get_nothing(project, alice, receiver):
    hook = webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    hook.active = False
    hook.save()
    notify(finished_job(project, alice))
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


# --- the page ------------------------------------------------------------------------------------

def test_admins_add_a_webhook_and_see_its_secret(project, alice):
    client = login(alice)
    response = client.post(f"/projects/{project.pk}/webhooks/add/", {"url": "https://example.org/hook"}, follow=True)
    hook = Webhook.objects.get()
    page = response.content.decode()
    assert hook.url == "https://example.org/hook" and len(hook.secret) == 64
    assert hook.secret in page and "X-Portal-Signature" in page


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "javascript:alert(1)", "file:///etc/passwd", "not a url"])
def test_only_http_and_https_urls_are_accepted(project, alice, url):
    response = login(alice).post(f"/projects/{project.pk}/webhooks/add/", {"url": url})
    assert response.status_code == 400
    assert "Enter a valid http:// or https:// URL." in response.content.decode()
    assert not Webhook.objects.exists()


def test_admins_see_deliveries_and_can_send_a_test(project, alice, receiver):
    hook = webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    client = login(alice)
    with TestCase.captureOnCommitCallbacks(execute=True):
        page = client.post(f"/projects/{project.pk}/webhooks/{hook.pk}/test/", follow=True).content.decode()
    assert "Test event queued." in page and receiver.requests == []  # the request did not wait on it
    assert 'hx-trigger="every 2s"' in page  # the deliveries list refreshes until it is sent
    outgoing_run()
    assert json.loads(receiver.requests[0]["body"])["event"] == "ping"
    deliveries = client.get(f"/projects/{project.pk}/webhooks/", HTTP_HX_REQUEST="true").content.decode()
    assert "Delivered (HTTP 200)" in deliveries and "hx-trigger" not in deliveries


def test_a_failed_test_is_shown_and_not_retried(project, alice, receiver):
    receiver.status = 500
    hook = webhook_create(actor=Actor.of(alice), project=project, url=receiver.url)
    with TestCase.captureOnCommitCallbacks(execute=True):
        login(alice).post(f"/projects/{project.pk}/webhooks/{hook.pk}/test/")
    outgoing_run()
    page = login(alice).get(f"/projects/{project.pk}/webhooks/").content.decode()
    assert "The receiver answered HTTP 500." in page
    assert WebhookDelivery.objects.get().next_attempt_at is None


def test_admins_remove_a_webhook(project, alice):
    hook = webhook_create(actor=Actor.of(alice), project=project, url="https://example.org/hook")
    login(alice).post(f"/projects/{project.pk}/webhooks/{hook.pk}/delete/")
    assert not Webhook.objects.exists()


def test_only_project_admins_manage_webhooks(project, alice, bob, charlie, client, team):
    hook = webhook_create(actor=Actor.of(alice), project=project, url="https://example.org/hook")
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    urls = [(f"/projects/{project.pk}/webhooks/", "get"), (f"/projects/{project.pk}/webhooks/add/", "post"),
            (f"/projects/{project.pk}/webhooks/{hook.pk}/delete/", "post"),
            (f"/projects/{project.pk}/webhooks/{hook.pk}/test/", "post")]
    for url, method in urls:
        assert getattr(login(bob), method)(url, {"url": "https://evil.example/"}).status_code == 403
        assert getattr(login(charlie), method)(url, {"url": "https://evil.example/"}).status_code == 404
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert list(Webhook.objects.values_list("url", flat=True)) == ["https://example.org/hook"]
    project_page = login(bob).get(f"/projects/{project.pk}/").content.decode()
    assert "/webhooks/" not in project_page
    assert hook.secret not in project_page


def test_a_webhook_of_another_project_is_not_found(project, alice, team):
    from portal.models import Project

    other = Project.objects.create(team=team, name="Other")
    hook = webhook_create(actor=Actor.of(alice), project=other, url="https://example.org/hook")
    assert login(alice).post(f"/projects/{project.pk}/webhooks/{hook.pk}/delete/").status_code == 404
    assert Webhook.objects.filter(pk=hook.pk).exists()
