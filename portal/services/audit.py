"""The audit log: services write it (append-only), owners and staff read it.

Every entry comes from a service, with the acting ``Actor``: the same action
is recorded with the same details whichever edge it came through. The web is
the default edge; entries made through another one (the API, the admin, a
worker) name it in ``detail["via"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from portal.actor import Actor, Via
from portal.models import AuditAction, AuditEvent, Team


def _event(*, actor: Actor, action: AuditAction | str, team: Team | None, obj: Any,
           detail: dict[str, Any] | None, obj_repr: str | None = None) -> AuditEvent:
    detail = dict(detail or {})
    if actor.via != Via.WEB:
        detail["via"] = str(actor.via)
    return AuditEvent(
        actor=actor.user,
        actor_name=actor.name,
        ip=actor.ip,
        action=str(action),
        team=team,
        team_name=team.name if team else "",
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "")) if obj is not None else "",
        object_repr=(obj_repr if obj_repr is not None else str(obj) if obj is not None else "")[:255],
        detail=detail,
    )


def audit_record(*, actor: Actor, action: AuditAction | str, team: Team | None, obj: Any = None,
                 detail: dict[str, Any] | None = None, obj_repr: str | None = None) -> AuditEvent:
    """Record that ``actor`` did ``action`` to ``obj`` of ``team``."""
    event = _event(actor=actor, action=action, team=team, obj=obj, detail=detail, obj_repr=obj_repr)
    event.save()
    return event


# Reading the same thing again soon after is one visit, not another entry.
REPEAT_WINDOW = timedelta(minutes=30)


def audit_record_visit(*, actor: Actor, action: AuditAction | str, team: Team | None, obj: Any,
                       detail: dict[str, Any] | None = None) -> AuditEvent | None:
    """Like ``audit_record`` for reads (viewing a transcript): nothing new is
    written when the same person did the same to the same object within
    REPEAT_WINDOW (the earlier entry already says they looked). Returns the
    new entry, or None when it was a repeat."""
    if actor.user is not None and obj is not None:
        repeat = AuditEvent.objects.filter(
            team=team, actor=actor.user, action=str(action),
            object_type=type(obj).__name__.lower(), object_id=str(obj.pk),
            created_at__gte=timezone.now() - REPEAT_WINDOW).exists()
        if repeat:
            return None
    return audit_record(actor=actor, action=action, team=team, obj=obj, detail=detail)


def audit_record_many(*, actor: Actor, action: AuditAction | str,
                      targets: Iterable[tuple[Team | None, Any, str]], detail: dict[str, Any] | None = None) -> int:
    """One entry per (team, object, label) in a few INSERTs: bulk actions on hundreds of rows."""
    events = [_event(actor=actor, action=action, team=team, obj=obj, detail=detail, obj_repr=label)
              for team, obj, label in targets]
    AuditEvent.objects.bulk_create(events, batch_size=500)
    return len(events)


def audit_events_for_team(*, team: Team, action: AuditAction | str | None = None) -> QuerySet[AuditEvent]:
    """The team's events, newest first, optionally of one action."""
    events = AuditEvent.objects.filter(team=team).order_by("-created_at", "-id")
    if action:
        events = events.filter(action=action)
    return events


def audit_events_for_object(*, obj: Any, actions: Iterable[str]) -> QuerySet[AuditEvent]:
    """What was done to one object (a job's cancels and retries), oldest first."""
    return AuditEvent.objects.filter(object_type=type(obj).__name__.lower(), object_id=str(obj.pk),
                                     action__in=list(actions)).order_by("created_at", "id")
