"""Webhooks cannot be aimed at this machine or the internal network (SSRF):
internal addresses in every notation are refused when the URL is saved, and
again at delivery after DNS resolution; the request goes to the address that
was checked (so a name that resolves differently later gets nowhere), and
redirects are not followed. WEBHOOK_ALLOWED_HOSTS lets an operator allow
chosen internal receivers. Nothing here sends a packet beyond loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import TestCase
from django.utils import timezone

from portal.actor import Actor
from tests.conftest import login
from tests.queue_support import outgoing_purge, outgoing_run
from transcription.models import Webhook, WebhookDelivery
from transcription.services.webhook_targets import address_is_internal
from transcription.services.webhooks import webhook_ping
from transcription.tasks import send_due_webhooks

pytestmark = pytest.mark.django_db

REFUSED = "Webhooks cannot be sent to"


@pytest.fixture(autouse=True)
def _empty_outgoing_queue() -> None:
    outgoing_purge()


def send_test(hook: Webhook) -> WebhookDelivery:
    """The webhook's test event, sent by the outgoing queue; the delivery as recorded."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        delivery = webhook_ping(actor=Actor.of(hook.project.team.memberships.first().user), webhook=hook)
    outgoing_run()
    delivery.refresh_from_db()
    return delivery


class Receiver:
    """A loopback HTTP endpoint recording requests; answers ``status`` (and ``location``)."""

    def __init__(self, status: int = 200, location: str = "") -> None:
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "host": self.headers["Host"]})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def add(alice, project, url: str):
    return login(alice).post(f"/projects/{project.pk}/webhooks/add/", {"url": url})


INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://127.0.0.1:8000/",
    "http://localhost:5432/",  # a name that resolves to 127.0.0.1
    "http://LOCALHOST./",
    "http://db.localhost/",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # shared address space (carrier NAT)
    "http://0.0.0.0:6379/",
    "http://224.0.0.251/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[::1]:6379/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",  # ... 169.254.169.254, in hex
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://017700000001/",  # ... in octal
    "http://0177.0.0.1/",  # dotted octal
    "http://0x7f.0.0.1/",  # dotted hex
    "http://127.1/",  # short form
    "http://0xa9fea9fe/",  # 169.254.169.254 in hex
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_when_saved(project, alice, url):
    response = add(alice, project, url)
    assert response.status_code == 400
    page = response.content.decode()
    assert REFUSED in page and "WEBHOOK_ALLOWED_HOSTS" in page
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", ["http://93.184.215.14/hook", "https://[2606:4700:4700::1111]/in",
                                 "https://8.8.8.8:8443/x?y=1"])
def test_public_addresses_are_accepted(project, alice, url):
    assert add(alice, project, url).status_code == 302
    assert Webhook.objects.get().url == url


@pytest.mark.parametrize(("text", "internal"), [
    ("127.0.0.1", True), ("10.0.0.1", True), ("169.254.169.254", True), ("100.64.1.1", True),
    ("192.0.0.8", True), ("198.18.0.1", True), ("255.255.255.255", True), ("::1", True), ("fe80::1", True),
    ("::ffff:10.0.0.1", True), ("::ffff:8.8.8.8", False), ("64:ff9b::a00:1", True), ("fec0::1", True),
    ("8.8.8.8", False), ("2606:4700:4700::1111", False),
])
def test_it_knows_internal_addresses(text, internal):
    assert address_is_internal(ipaddress.ip_address(text)) is internal


def test_operators_can_allow_chosen_internal_hosts_and_networks(project, alice, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.0.5.0/24", "hooks.localhost", "[::1]:9000", "10.0.7.1:*"]
    for url in ("http://10.0.5.7/hook", "https://10.0.5.7/hook", "http://hooks.localhost/in", "http://[::1]:9000/",
                "http://10.0.7.1:6379/"):
        assert add(alice, project, url).status_code == 302, url
    assert add(alice, project, "http://10.0.6.1/hook").status_code == 400
    assert Webhook.objects.count() == 5


@pytest.mark.parametrize("url", ["http://10.0.5.7:6379/", "http://hooks.localhost:5432/in", "http://[::1]:9001/",
                                 "https://[::1]/"])
def test_an_allowed_host_is_allowed_on_its_own_port_only(project, alice, settings, url):
    """An entry without a port allows 80 and 443; one with a port, that port alone."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["10.0.5.0/24", "hooks.localhost", "[::1]:9000"]
    response = add(alice, project, url)
    assert response.status_code == 400 and REFUSED in response.content.decode()
    assert not Webhook.objects.exists()


def test_a_stored_url_that_now_leads_inside_is_refused_at_delivery(project, alice, receiver):
    """As after DNS rebinding: the URL was fine when saved, now its name resolves to loopback."""
    hook = Webhook.objects.create(project=project, url=f"http://localhost:{receiver.port}/in", secret="s")
    delivery = send_test(hook)
    assert not delivery.succeeded and delivery.status_code is None
    assert delivery.error.startswith("Not sent: Webhooks cannot be sent to localhost (127.0.0.1)")
    assert receiver.requests == []


@pytest.mark.parametrize("notation", ["2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]"])
def test_delivery_refuses_every_notation_of_loopback(project, alice, receiver, notation):
    hook = Webhook.objects.create(project=project, url=f"http://{notation}:{receiver.port}/", secret="s")
    assert "Not sent" in send_test(hook).error
    assert receiver.requests == []


def test_the_test_button_shows_why_nothing_was_sent(project, alice, receiver):
    hook = Webhook.objects.create(project=project, url=f"http://[::1]:{receiver.port}/", secret="s")
    with TestCase.captureOnCommitCallbacks(execute=True):
        login(alice).post(f"/projects/{project.pk}/webhooks/{hook.pk}/test/")
    outgoing_run()
    page = login(alice).get(f"/projects/{project.pk}/webhooks/").content.decode()
    assert "Not sent: Webhooks cannot be sent to ::1" in page


class RebindingDNS:
    """The system resolver, except that ``name`` answers ``first`` once and ``later`` after that."""

    def __init__(self, monkeypatch, name: str, first: list[str], later: list[str]) -> None:
        self.lookups = 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != name:
                return real(host, port, *args, **kwargs)
            self.lookups += 1
            answers = first if self.lookups == 1 else later
            return [info for ip in answers for info in real(ip, port, *args, **kwargs)]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_delivery_connects_to_the_address_it_checked(project, alice, receiver, settings, monkeypatch):
    """The name resolves to the allowed receiver at the check and to another loopback address
    after it: the request still reaches the checked address, with the name as its Host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:*"]
    dns = RebindingDNS(monkeypatch, "hooks.rebind.test", first=["127.0.0.1"], later=["127.0.0.2"])
    hook = Webhook.objects.create(project=project, url=f"http://hooks.rebind.test:{receiver.port}/in", secret="s")
    delivery = send_test(hook)
    assert delivery.succeeded, delivery.error
    assert receiver.requests == [{"path": "/in", "host": f"hooks.rebind.test:{receiver.port}"}]
    assert dns.lookups == 1


def test_a_name_with_any_internal_address_is_refused(project, alice, receiver, monkeypatch):
    RebindingDNS(monkeypatch, "mixed.example", first=["93.184.215.14", "127.0.0.1"],
                 later=["93.184.215.14", "127.0.0.1"])
    assert add(alice, project, "http://mixed.example/hook").status_code == 400
    hook = Webhook.objects.create(project=project, url=f"http://mixed.example:{receiver.port}/", secret="s")
    assert send_test(hook).error.startswith("Not sent: Webhooks cannot be sent to mixed.example (127.0.0.1)")


def test_redirects_are_not_followed(project, alice, receiver, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:*"]
    bouncer = Receiver(status=307, location=f"http://127.0.0.1:{receiver.port}/inside")
    try:
        hook = Webhook.objects.create(project=project, url=f"http://127.0.0.1:{bouncer.port}/", secret="s")
        delivery = send_test(hook)
    finally:
        bouncer.close()
    assert (delivery.succeeded, delivery.status_code) == (False, 307)
    assert delivery.error == "The receiver answered HTTP 307."
    assert len(bouncer.requests) == 1 and receiver.requests == []


def test_a_refused_delivery_is_recorded_like_any_failure(project, alice, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    hook = Webhook.objects.create(project=project, url="http://169.254.169.254/latest/", secret="s")
    WebhookDelivery.objects.create(webhook=hook, event="job.succeeded", payload={},
                                   next_attempt_at=timezone.now() - timedelta(seconds=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert send_due_webhooks() == 1
    outgoing_run()
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempt == 1 and delivery.next_attempt_at is None
    assert "169.254.169.254" in delivery.error
