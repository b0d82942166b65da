"""Where a webhook may be sent, and sending it there (SSRF guard).

A project admin chooses the URL, but the request leaves from our servers, so
it must never reach this machine or the internal network: loopback, private,
link-local (cloud metadata at 169.254.169.254), shared, multicast, reserved
and unspecified addresses are refused, including IPv4 addresses written as
IPv6 (``::ffff:127.0.0.1``, NAT64, 6to4) and in the decimal, octal or hex forms
the system resolver accepts (``2130706433``, ``0177.0.0.1``).

The URL is checked when it is saved and again at every delivery, after DNS
resolution: every address the name resolves to must be allowed, and the
request then connects to the very address that was checked (the Host header
and the TLS certificate check still use the name), so a name that resolves
differently a second time (DNS rebinding) cannot slip through. Redirects are
never followed. ``WEBHOOK_ALLOWED_HOSTS`` (host names, addresses or networks,
each on ports 80 and 443 unless it names its port: ``hooks.internal:8443``,
``[fd00::5]:9000``, ``10.0.5.0/24:*`` for any) lets an operator allow chosen
internal receivers.

A request has one deadline for all of it (connect, sending, every read of the
answer): a receiver that trickles a byte at a time is cut off when it passes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from portal.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# IANA special-purpose blocks, listed as well as ipaddress's flags (whose lists vary between Python versions).
_SPECIAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
)]
RESPONSE_EXCERPT = 500


class TargetRefused(Invalid):
    """The URL leads to an address webhooks may not reach."""


class TargetUnresolved(Exception):
    """The host name does not resolve (now)."""


class DeadlineExceeded(Exception):
    """The receiver did not answer in full within the request's deadline."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_internal(ip: Address) -> bool:
    """True for every address a webhook must not reach without the operator's say-so."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return address_is_internal(inner)
    if any(ip in network for network in _SPECIAL if network.version == ip.version):
        return True
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local))


DEFAULT_PORTS = (80, 443)


def _allowed_entry(entry: str) -> tuple[str, int | None] | None:
    """(host or network, port) of one WEBHOOK_ALLOWED_HOSTS entry; port None means any."""
    entry = entry.strip().lower()
    port = ""
    if entry.startswith("["):
        entry, _sep, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        entry, port = entry.split(":")
    if not entry:
        return None
    if port == "*":
        return entry, None
    return entry, int(port) if port.isascii() and port.isdigit() else 0  # 0: the default ports


def _allowed_by_operator(host: str, ip: Address | None, port: int) -> bool:
    for raw in settings.WEBHOOK_ALLOWED_HOSTS:
        parsed = _allowed_entry(raw)
        if parsed is None:
            continue
        entry, allowed_port = parsed
        if allowed_port is not None and port != allowed_port and not (allowed_port == 0 and port in DEFAULT_PORTS):
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if host == entry.rstrip("."):
                return True
            continue
        if ip is not None and (ip in network or (_embedded_ipv4(ip) or ip) in network):
            return True
    return False


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in ("http", "https") or not host:
        raise Invalid(_("Enter a valid http:// or https:// URL."))
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise Invalid(_("Enter a valid http:// or https:// URL.")) from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, path


def _resolve(host: str, port: int) -> list[Address]:
    """Every address the system resolver gives for ``host`` (a literal in any form it accepts, or a name)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise TargetUnresolved(host) from None
    out: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


def _refused(host: str, ip: Address) -> TargetRefused:
    shown = host if host == str(ip) else f"{host} ({ip})"
    return TargetRefused(_("Webhooks cannot be sent to %(host)s: it is a loopback, private or otherwise internal "
                           "address. An operator can allow it with WEBHOOK_ALLOWED_HOSTS.") % {"host": shown})


def _check_name(host: str, port: int) -> None:
    """``localhost`` and ``*.localhost`` mean this machine (RFC 6761), whatever a resolver says."""
    if (host == "localhost" or host.endswith(".localhost")) and not _allowed_by_operator(host, None, port):
        raise _refused(host, ipaddress.ip_address("127.0.0.1"))


def _check(host: str, port: int, addresses: list[Address]) -> None:
    for ip in addresses:
        if address_is_internal(ip) and not _allowed_by_operator(host, ip, port):
            raise _refused(host, ip)


def webhook_url_check(*, url: str) -> None:
    """At save time: refuse a URL whose host is, or resolves to, an internal
    address. A name that does not resolve yet is let through: it is checked
    again, after resolution, before every delivery."""
    _scheme, host, port, _path = _split(url)
    _check_name(host, port)
    try:
        addresses = _resolve(host, port)
    except TargetUnresolved:
        return
    _check(host, port, addresses)


def webhook_target_resolve(*, url: str) -> Target:
    """At delivery time: the address to connect to, checked. Raises
    TargetRefused or TargetUnresolved."""
    scheme, host, port, path = _split(url)
    _check_name(host, port)
    addresses = _resolve(host, port)
    _check(host, port, addresses)
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


def _pool(target: Target, timeout: float, opened: list[socket.socket]) -> HTTPConnectionPool:
    """A connection pool for ``target.host`` whose sockets go to ``target.address`` (each one
    opened is added to ``opened``, so the deadline can cut it)."""
    secure = target.scheme == "https"
    base = HTTPSConnection if secure else HTTPConnection

    def _new_conn(self):  # noqa: ANN001, ANN202 - urllib3's hook
        # Connect to the checked address; the Host header, SNI and certificate check keep the name.
        name, self._dns_host = self._dns_host, target.address
        try:
            sock = base._new_conn(self)
        finally:
            self._dns_host = name
        opened.append(sock)
        return sock

    connection = type("PinnedConnection", (base,), {"_new_conn": _new_conn})
    common = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if secure:
        pool: HTTPConnectionPool = HTTPSConnectionPool(target.host, target.port, cert_reqs="CERT_REQUIRED",
                                                       ca_certs=certifi.where(), **common)
    else:
        pool = HTTPConnectionPool(target.host, target.port, **common)
    pool.ConnectionCls = connection
    return pool


def recording(base: type[HTTPConnection], opened: list[socket.socket]) -> type[HTTPConnection]:
    """``base`` whose every socket is added to ``opened`` (for Deadline to cut)."""

    def _new_conn(self):  # noqa: ANN001, ANN202 - urllib3's hook
        sock = base._new_conn(self)
        opened.append(sock)
        return sock

    return type("RecordedConnection", (base,), {"_new_conn": _new_conn})


class Deadline:
    """Shuts the request's sockets when its time is up: a socket timeout applies to each read
    alone, so a receiver sending a byte every few seconds would otherwise never time out.
    Used by webhook deliveries and the language-model client alike."""

    def __init__(self, seconds: float, opened: list[socket.socket]) -> None:
        self.passed = threading.Event()
        self.opened = opened
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True

    def _cut(self) -> None:
        self.passed.set()
        for sock in self.opened:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.timer.cancel()


def webhook_post(*, url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    """POST ``body`` to ``url`` through the guard, all of it within ``deadline`` seconds; never
    follows a redirect. Raises TargetRefused, TargetUnresolved, DeadlineExceeded or urllib3's errors."""
    started = time.monotonic()
    target = webhook_target_resolve(url=url)
    remaining = deadline - (time.monotonic() - started)
    if remaining <= 0:
        raise DeadlineExceeded(url)
    opened: list[socket.socket] = []
    pool = _pool(target, remaining, opened)
    with Deadline(remaining, opened) as clock:
        try:
            response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                    retries=False, preload_content=False, assert_same_host=False)
            try:
                data = response.read(RESPONSE_EXCERPT * 4)
            finally:
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError):
            if clock.passed.is_set():
                raise DeadlineExceeded(url) from None
            raise
        finally:
            pool.close()
        if clock.passed.is_set():  # cut while reading: what came is not the whole answer
            raise DeadlineExceeded(url)
    return Answer(status=response.status, excerpt=data.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT])
