"""Reading the audit log (writing is portal.services.audit.audit_record)."""

from __future__ import annotations

from django.db.models import QuerySet

from portal.models import AuditAction, AuditEvent, Team


def audit_events_for_team(*, team: Team, action: AuditAction | str | None = None) -> QuerySet[AuditEvent]:
    """The team's events, newest first, optionally of one action."""
    events = AuditEvent.objects.filter(team=team).order_by("-created_at", "-id")
    if action:
        events = events.filter(action=action)
    return events
