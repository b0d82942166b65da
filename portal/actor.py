"""Who is acting: what services receive instead of an HttpRequest, so the
same audit record is written whichever edge the change came through."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest


class Via(StrEnum):
    WEB = "web"
    API = "api"
    ADMIN = "admin"
    WORKER = "worker"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    user: AbstractBaseUser | None
    via: Via
    ip: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, *, via: Via = Via.WEB) -> Actor:
        user = getattr(request, "user", None)
        # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy
        # we trust rewrites it, and then the proxy should set REMOTE_ADDR.
        return cls(user=user if user is not None and user.is_authenticated else None, via=via,
                   ip=request.META.get("REMOTE_ADDR") or None)

    @classmethod
    def system(cls, via: Via = Via.SYSTEM) -> Actor:
        return cls(user=None, via=via)

    @classmethod
    def of(cls, user: Any, *, via: Via = Via.SYSTEM) -> Actor:
        """A known user acting outside a request (management commands, tests)."""
        return cls(user=user if user is not None and user.is_authenticated else None, via=via)

    @property
    def name(self) -> str:
        return self.user.get_username() if self.user is not None else ""

    @property
    def is_staff(self) -> bool:
        """Staff powers: a staff user's, or the system's own (a command, a worker); never an anonymous
        request's. The one answer everything that asks "is staff" uses."""
        if self.user is None:
            return self.via in (Via.SYSTEM, Via.WORKER)
        return bool(getattr(self.user, "is_staff", False))
