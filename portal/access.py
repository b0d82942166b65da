"""The only way views and the API reach teams and projects.

An object outside the user's teams is a 404 (never 403: we don't confirm it
exists); a member without the needed role gets 403. Anonymous users never get
here: views are login_required and the API answers 401 first.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from portal.models import Membership, Project, Team

User = AbstractBaseUser | AnonymousUser


def parse_uuid(value: object) -> uuid.UUID:
    """A malformed id is just another object that does not exist."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("Not found") from None


def check_role(membership: Membership, *, write: bool = False, manage: bool = False) -> None:
    if manage and not membership.can_manage:
        raise PermissionDenied("Only team owners and admins can do this.")
    if write and not membership.can_write:
        raise PermissionDenied("Viewers can read but not change anything.")


def membership_for(user: User, team_id: object) -> Membership:
    if not user.is_authenticated:
        raise Http404("Not found")
    try:
        return Membership.objects.select_related("team").get(user=user, team_id=team_id)
    except Membership.DoesNotExist:
        raise Http404("Not found") from None


def authorize(user: User, team_id: object, *, write: bool = False,
              manage: bool = False) -> Membership:
    """The user's membership of the team, checked for the needed role."""
    membership = membership_for(user, team_id)
    check_role(membership, write=write, manage=manage)
    return membership


def get_team_for_user(user: User, team_id: object, *, write: bool = False,
                      manage: bool = False) -> Team:
    membership = authorize(user, parse_uuid(team_id), write=write, manage=manage)
    team = membership.team
    team.membership = membership  # type: ignore[attr-defined]
    return team


def get_project_for_user(user: User, project_id: object, *, write: bool = False,
                         manage: bool = False) -> Project:
    pk = parse_uuid(project_id)
    project = Project.objects.select_related("team").filter(pk=pk).first()
    if project is None:
        raise Http404("Not found")
    project.membership = authorize(user, project.team_id, write=write, manage=manage)  # type: ignore[attr-defined]
    return project


def teams_for_user(user: User) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user)


def projects_for_user(user: User) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(team__memberships__user=user)
