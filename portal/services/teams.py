"""Teams, memberships and projects."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from portal.models import AuditAction, Membership, Project, Role, Team
from portal.services.audit import audit_record


def team_create(*, user: AbstractBaseUser, name: str) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name.strip())
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return team


def team_rename(*, team: Team, name: str) -> Team:
    team.name = name.strip()
    team.save(update_fields=["name"])
    return team


def user_find(*, identifier: str) -> AbstractBaseUser:
    """An existing active user by username or email (case-insensitive)."""
    identifier = identifier.strip()
    User = get_user_model()
    users = list(
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True)[:2]
    )
    if len(users) != 1:
        raise ValidationError("No user with that username or email.")
    return users[0]


def membership_add(*, team: Team, actor_membership: Membership, identifier: str, role: str,
                   request: HttpRequest | None = None) -> Membership:
    _check_can_grant(actor_membership, role)
    user = user_find(identifier=identifier)
    with transaction.atomic():
        if Membership.objects.filter(team=team, user=user).exists():
            raise ValidationError(f"{user.get_username()} is already a member of this team.")
        membership = Membership.objects.create(team=team, user=user, role=role)
        audit_record(request=request, action=AuditAction.MEMBER_ADD, team=team, obj=user,
                     detail={"role": role})
    return membership


def membership_set_role(*, membership: Membership, actor_membership: Membership, role: str,
                        request: HttpRequest | None = None) -> Membership:
    if role not in Role.values:
        raise ValidationError("Unknown role.")
    _check_can_grant(actor_membership, role)
    if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can change another owner's role.")
    with transaction.atomic():
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_another_owner(membership)
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(request=request, action=AuditAction.MEMBER_ROLE, team=membership.team,
                     obj=membership.user, detail={"before": before, "after": role})
    return membership


def membership_remove(*, membership: Membership, actor_membership: Membership,
                      request: HttpRequest | None = None) -> None:
    is_self = membership.pk == actor_membership.pk
    if not is_self:
        if not actor_membership.can_manage:
            raise PermissionDenied("Only team owners and admins can remove members.")
        if membership.role == Role.OWNER and actor_membership.role != Role.OWNER:
            raise PermissionDenied("Only an owner can remove another owner.")
    with transaction.atomic():
        if membership.role == Role.OWNER:
            _ensure_another_owner(membership)
        audit_record(request=request, action=AuditAction.MEMBER_REMOVE, team=membership.team,
                     obj=membership.user, detail={"role": membership.role})
        membership.delete()


def _check_can_grant(actor: Membership, role: str) -> None:
    if not actor.can_manage:
        raise PermissionDenied("Only team owners and admins can manage members.")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make someone an owner.")


def _ensure_another_owner(membership: Membership) -> None:
    # Lock the owners so two concurrent demotions cannot both pass.
    owners = (
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not owners.exists():
        raise ValidationError("A team needs at least one owner. Make someone else an owner first.")


def hotwords_parse(*, text: str) -> list[str]:
    """One hotword per line or comma; blanks and duplicates dropped."""
    words: list[str] = []
    for chunk in text.replace(",", "\n").replace("，", "\n").splitlines():
        word = chunk.strip()
        if word and word not in words:
            words.append(word[:50])
    return words[:200]


def project_create(*, team: Team, user: AbstractBaseUser, name: str,
                   hotwords: list[str] | None = None) -> Project:
    return Project.objects.create(team=team, name=name.strip(), created_by=user,
                                  hotwords=hotwords or [])


def project_update(*, project: Project, name: str, hotwords: list[str]) -> Project:
    project.name = name.strip()
    project.hotwords = hotwords
    project.save(update_fields=["name", "hotwords"])
    return project


def project_delete(*, project: Project) -> None:
    """Delete the project with its media files from storage."""
    from transcription.services.media import media_delete_files

    with transaction.atomic():
        paths = list(project.media.values_list("file", flat=True))
        project.delete()
        transaction.on_commit(lambda: media_delete_files(names=paths))
