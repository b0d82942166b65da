"""The team audit log: who viewed, edited, exported or downloaded the team's
data, and who changed its members. Team owners only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import get_team_for_user
from portal.models import AuditAction, Role
from portal.services.audit import audit_events_for_team

PAGE_SIZE = 50


@login_required
def team_audit(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    if team.membership.role != Role.OWNER:
        raise PermissionDenied("Only team owners can read the audit log.")
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    events = audit_events_for_team(team=team, action=action or None)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/team_audit.html", {
        "team": team,
        "page": page,
        "action": action,
        "actions": AuditAction.choices,
    })
