"""The audit log: append-only from the application's point of view."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.models import AuditAction, AuditEvent, Team


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy
    # we trust rewrites it, and then the proxy should set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


def audit_record(*, request: HttpRequest | None, action: AuditAction | str, team: Team | None,
                 obj: Any = None, detail: dict[str, Any] | None = None,
                 actor: Any = None) -> AuditEvent:
    """Record that the request's user did ``action`` to ``obj`` of ``team``."""
    user = actor if actor is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        ip=client_ip(request),
        action=str(action),
        team=team,
        team_name=team.name if team else "",
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "")) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        detail=detail or {},
    )
