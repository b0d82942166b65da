"""Outgoing calls never hold up transcription: webhook deliveries and email
run on the outgoing queue (a cluster of their own), each delivery within one
deadline for the whole request, at most WEBHOOK_TEAM_CONCURRENCY of a team's
at once and WEBHOOK_MAX_PER_PROJECT webhooks a project. Receivers are real
loopback servers that stall or trickle."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from portal.actor import Actor
from portal.models import Membership, Project, Role, Team
from tests.cluster_support import wait_for
from tests.conftest import login
from tests.queue_support import outgoing_purge, outgoing_run, upload
from tests.webhook_support import Tarpit, Trickler
from transcription.models import Job, JobStatus, Webhook, WebhookDelivery
from transcription.services.webhooks import webhook_create, webhook_delivery_send
from transcription.tasks import send_due_webhooks


@pytest.fixture(autouse=True)
def loopback_receivers(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:*"]
    outgoing_purge()


@pytest.fixture
def tarpit():
    server = Tarpit()
    yield server
    server.close()


@pytest.fixture
def other_team(charlie) -> Project:
    """Charlie's own team and project, next to Alice's."""
    team = Team.objects.create(name="Beta")
    Membership.objects.create(team=team, user=charlie, role=Role.OWNER)
    return Project.objects.create(team=team, name="Calls", created_by=charlie)


def delivery_for(hook: Webhook) -> WebhookDelivery:
    return WebhookDelivery.objects.create(webhook=hook, event="job.succeeded", payload={"event": "job.succeeded"},
                                          next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_it_cuts_a_receiver_that_trickles_its_answer_at_the_deadline(project, alice, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    trickler = Trickler(interval=0.25)  # its whole answer would take ~17 s, a byte at a time
    try:
        hook = webhook_create(actor=Actor.of(alice), project=project, url=trickler.url)
        delivery = delivery_for(hook)
        assert webhook_delivery_send(delivery_id=delivery.pk) is False
    finally:
        trickler.close()
    delivery.refresh_from_db()
    assert delivery.error == "No complete answer within 2 seconds."
    assert delivery.attempt == 1 and not delivery.succeeded and delivery.next_attempt_at is not None  # retried
    assert delivery.sending_until is None
    assert 0 < trickler.sent < len(Trickler.ANSWER)


@pytest.mark.django_db(transaction=True)
def test_a_stalled_receiver_holds_its_own_teams_slots_only(project, alice, other_team, charlie, settings,
                                                          tarpit):
    settings.WEBHOOK_TEAM_CONCURRENCY = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 60
    stalled = delivery_for(webhook_create(actor=Actor.of(alice), project=project, url=tarpit.url))
    waiting = delivery_for(Webhook.objects.get(pk=stalled.webhook_id))
    fine = Trickler(interval=0)
    try:
        other = delivery_for(webhook_create(actor=Actor.of(charlie), project=other_team, url=fine.url))
        sender = threading.Thread(target=webhook_delivery_send, kwargs={"delivery_id": stalled.pk})
        sender.start()
        assert tarpit.connected.wait(30), "the first delivery never reached the receiver"

        with TestCase.captureOnCommitCallbacks(execute=True):
            assert send_due_webhooks() == 1  # Alice's team has no free slot; Charlie's has
        outgoing_run()
        other.refresh_from_db()
        assert other.succeeded and other.status_code == 200
        waiting.refresh_from_db()
        assert waiting.attempt == 0 and not tarpit.given_up.is_set()
        page = login(alice).get(f"/projects/{project.pk}/webhooks/").content.decode()
        assert "Sending" in page and 'hx-trigger="every 2s"' in page
    finally:
        tarpit.close()  # the receiver goes away: the stalled delivery ends and frees the slot
        sender.join(30)
        fine.close()
    stalled.refresh_from_db()
    assert stalled.attempt == 1 and not stalled.succeeded and stalled.sending_until is None
    outgoing_run()  # the freed slot went to Alice's next delivery
    waiting.refresh_from_db()
    assert waiting.attempt == 1


@pytest.mark.django_db
def test_a_project_has_at_most_the_allowed_number_of_webhooks(project, alice, settings):
    settings.WEBHOOK_MAX_PER_PROJECT = 2
    client = login(alice)
    for n in range(2):
        response = client.post(f"/projects/{project.pk}/webhooks/add/", {"url": f"https://example.org/{n}"})
        assert response.status_code == 302
    response = client.post(f"/projects/{project.pk}/webhooks/add/", {"url": "https://example.org/3"})
    assert response.status_code == 400
    assert "A project can have at most 2 webhooks. Remove one first." in response.content.decode()
    assert Webhook.objects.count() == 2


@pytest.mark.django_db
def test_email_is_sent_by_the_outgoing_queue_not_by_the_request(alice, settings):
    settings.EMAIL_BACKEND = "portal.mail.OutgoingQueueBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = login(alice).post("/accounts/password_reset/", {"email": alice.email})
    assert response.status_code == 302
    assert mail.outbox == []  # the request only queued it
    assert outgoing_run() == ["portal.mail.email_deliver"]
    [message] = mail.outbox
    assert message.to == [alice.email]


@pytest.mark.django_db
def test_the_retry_schedule_runs_on_the_outgoing_queue(settings):
    from django_q.models import Schedule

    from transcription.services.schedules import schedules_ensure

    schedules_ensure()
    assert Schedule.objects.get(func="transcription.tasks.send_due_webhooks").cluster == "asr-outgoing"
    assert Schedule.objects.get(func="transcription.tasks.reap_stale_jobs").cluster == "asr"


@pytest.mark.django_db(transaction=True)
def test_a_tarpit_receiver_does_not_delay_another_teams_jobs(project, alice, other_team, charlie, speech, clusters,
                                                            tarpit):
    """Alice's webhook never answers; Charlie's files, uploaded after Alice's job finished, are all
    transcribed while the tarpit still holds Alice's delivery."""
    env = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:*", "WEBHOOK_TIMEOUT_SECONDS": "300"}
    asr = clusters(**env)
    clusters(**env, QCLUSTER_ROLE="outgoing")
    webhook_create(actor=Actor.of(alice), project=project, url=tarpit.url)
    wav = speech[0].read_bytes()
    assert login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("a.wav", wav)]},
                             HTTP_ACCEPT="application/json").status_code == 201
    wait_for(tarpit.connected.is_set, timeout=240, what="Alice's delivery to reach the tarpit", cluster=asr)

    files = [upload(f"c{n}.wav", wav) for n in range(3)]
    assert login(charlie).post(f"/projects/{other_team.pk}/upload/", {"files": files},
                               HTTP_ACCEPT="application/json").status_code == 201
    wait_for(lambda: Job.objects.filter(project=other_team, status=JobStatus.SUCCEEDED).count() == 3,
             timeout=120, what="Charlie's three jobs", cluster=asr)
    assert not tarpit.given_up.is_set()
    stalled = WebhookDelivery.objects.get(webhook__project=project)
    assert stalled.attempt == 0 and stalled.sending_until is not None
    # The one ASR worker that finished Alice's job did Charlie's: nothing of it waits on the receiver.
    alices = Job.objects.get(project=project)
    assert set(Job.objects.filter(project=other_team).values_list("worker", flat=True)) == {alices.worker}
