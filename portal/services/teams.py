"""Teams, memberships and projects."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Invalid, NotAllowed
from portal.models import AuditAction, Membership, Project, Role, Team
from portal.services.audit import audit_record
from transcription.models import MediaFile, ProjectExport
from transcription.services.job_options import preset_check, speakers_parse
from transcription.services.media import media_delete_files


def team_create(*, actor: Actor, name: str) -> Team:
    """A new team with the acting user as its owner."""
    if actor.user is None:
        raise NotAllowed(_("Sign in to create a team."))
    with transaction.atomic():
        team = Team.objects.create(name=name.strip())
        Membership.objects.create(team=team, user=actor.user, role=Role.OWNER)
        audit_record(actor=actor, action=AuditAction.TEAM_CREATE, team=team, obj=team)
    return team


def team_rename(*, actor: Actor, team: Team, name: str) -> Team:
    old, team.name = team.name, name.strip()
    if team.name != old:
        team.save(update_fields=["name"])
        audit_record(actor=actor, action=AuditAction.TEAM_SETTINGS, team=team, obj=team,
                     detail={"from": old, "to": team.name})
    return team


def team_settings_set(*, actor: Actor, team: Team, allow_urgent: bool, review_second_person: bool,
                      llm_allowed: bool | None = None) -> Team:
    """Whether members may put their own uploads ahead of the fair-share order, whether a
    transcript's approver must be someone other than who submitted it for review, and whether the
    team's transcripts may be sent to the language-model server (None: unchanged)."""
    wanted = {"allow_urgent": allow_urgent, "review_second_person": review_second_person}
    if llm_allowed is not None:
        wanted["llm_allowed"] = llm_allowed
    changed = {field: value for field, value in wanted.items() if getattr(team, field) != value}
    if "llm_allowed" in changed and not actor.is_staff:
        membership = _acting_membership(actor, team)
        if membership is None or membership.role != Role.OWNER:
            raise NotAllowed(_("Only the team's owners can decide whether its transcripts may be sent to the "
                               "language model."))
    if changed:
        for field, value in changed.items():
            setattr(team, field, value)
        team.save(update_fields=list(changed))
        audit_record(actor=actor, action=AuditAction.TEAM_SETTINGS, team=team, obj=team, detail=changed)
    return team


def team_delete(*, actor: Actor, team: Team) -> None:
    """Delete the team with its projects and their media files from storage."""
    with transaction.atomic():
        paths = [*MediaFile.objects.filter(project__team=team).values_list("file", flat=True),
                 *ProjectExport.objects.filter(project__team=team).values_list("file", flat=True)]
        audit_record(actor=actor, action=AuditAction.TEAM_DELETE, team=team, obj=team,
                     detail={"projects": team.projects.count()})
        team.delete()
        transaction.on_commit(lambda: media_delete_files(names=[p for p in paths if p]))


def user_find(*, identifier: str) -> AbstractBaseUser:
    """An existing active user by username or email (case-insensitive)."""
    identifier = identifier.strip()
    User = get_user_model()
    users = list(
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True)[:2]
    )
    if len(users) != 1:
        raise Invalid(_("No user with that username or email."))
    return users[0]


def user_exists(*, identifier: str) -> bool:
    """Whether any active account has this username or email."""
    identifier = identifier.strip()
    return get_user_model().objects.filter(
        Q(username__iexact=identifier) | Q(email__iexact=identifier), is_active=True).exists()


def _acting_membership(actor: Actor, team: Team) -> Membership | None:
    """The actor's own membership; staff working in the admin act without one."""
    membership = getattr(team, "membership", None)
    if membership is not None and membership.user_id == getattr(actor.user, "pk", None):
        return membership
    return Membership.objects.filter(team=team, user_id=getattr(actor.user, "pk", None)).first()


def _grants_as(actor: Actor, team: Team) -> str | None:
    """The role whose powers the actor uses: theirs, or an owner's for staff in the admin."""
    membership = _acting_membership(actor, team)
    if membership is not None:
        return membership.role
    return Role.OWNER if actor.is_staff else None


def membership_add(*, actor: Actor, team: Team, user: AbstractBaseUser | None = None, identifier: str = "",
                   role: str) -> Membership:
    """Add an existing user (or the one ``identifier`` names) to the team."""
    _check_can_grant(_grants_as(actor, team), role)
    user = user if user is not None else user_find(identifier=identifier)
    with transaction.atomic():
        if Membership.objects.filter(team=team, user=user).exists():
            raise Invalid(_("%(user)s is already a member of this team.") % {"user": user.get_username()})
        membership = Membership.objects.create(team=team, user=user, role=role)
        audit_record(actor=actor, action=AuditAction.MEMBER_ADD, team=team, obj=user, detail={"role": role})
    return membership


def membership_set_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise Invalid(_("Unknown role."))
    acting = _grants_as(actor, membership.team)
    _check_can_grant(acting, role)
    if membership.role == Role.OWNER and acting != Role.OWNER:
        raise NotAllowed(_("Only an owner can change another owner's role."))
    with transaction.atomic():
        if membership.role == Role.OWNER and role != Role.OWNER:
            ensure_another_owner(membership)
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(actor=actor, action=AuditAction.MEMBER_ROLE, team=membership.team,
                     obj=membership.user, detail={"before": before, "after": role})
    return membership


def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Remove a member (owners and admins), or leave the team (anyone)."""
    is_self = membership.user_id == getattr(actor.user, "pk", None)
    if not is_self:
        acting = _grants_as(actor, membership.team)
        if acting not in (Role.OWNER, Role.ADMIN):
            raise NotAllowed(_("Only team owners and admins can remove members."))
        if membership.role == Role.OWNER and acting != Role.OWNER:
            raise NotAllowed(_("Only an owner can remove another owner."))
    with transaction.atomic():
        if membership.role == Role.OWNER:
            ensure_another_owner(membership)
        audit_record(actor=actor, action=AuditAction.MEMBER_REMOVE, team=membership.team,
                     obj=membership.user, detail={"role": membership.role})
        membership.delete()


def _check_can_grant(acting: str | None, role: str) -> None:
    if acting not in (Role.OWNER, Role.ADMIN):
        raise NotAllowed(_("Only team owners and admins can manage members."))
    if role == Role.OWNER and acting != Role.OWNER:
        raise NotAllowed(_("Only an owner can make someone an owner."))


def check_can_grant(*, actor: Actor, team: Team, role: str) -> None:
    """Whether ``actor`` may give someone ``role`` in the team (add, invite)."""
    _check_can_grant(_grants_as(actor, team), role)


def ensure_another_owner(membership: Membership) -> None:
    # Lock the owners so two concurrent demotions cannot both pass.
    owners = (
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not owners.exists():
        raise Invalid(_("A team needs at least one owner. Make someone else an owner first."))


def _defaults(preset: str | None, speakers: str | None, itn: str | None) -> dict[str, str]:
    """Checked project defaults for uploads (only those given)."""
    out: dict[str, str] = {}
    if preset is not None:
        out["preset"] = preset_check(preset) if preset else ""
    if speakers is not None:
        out["speakers"] = speakers_parse(speakers)
    if itn is not None:
        if itn not in ("auto", "on", "off"):
            raise Invalid(_("Numbers as digits must be auto, on or off."))
        out["itn"] = itn
    return out


def project_create(*, actor: Actor, team: Team, name: str, hotwords: list[str] | None = None,
                   preset: str | None = None, speakers: str | None = None, itn: str | None = None) -> Project:
    project = Project.objects.create(team=team, name=name.strip(), created_by=actor.user, hotwords=hotwords or [],
                                     **_defaults(preset, speakers, itn))
    audit_record(actor=actor, action=AuditAction.PROJECT_CREATE, team=team, obj=project)
    return project


def project_update(*, actor: Actor, project: Project, name: str, hotwords: list[str], preset: str | None = None,
                   speakers: str | None = None, itn: str | None = None) -> Project:
    fields = {"name": name.strip(), "hotwords": hotwords, **_defaults(preset, speakers, itn)}
    before = list(project.hotwords or [])
    changed = {key: {"from": getattr(project, key), "to": value} for key, value in fields.items()
               if key != "hotwords" and getattr(project, key) != value}
    for key, value in fields.items():
        setattr(project, key, value)
    project.save(update_fields=list(fields))
    if before != hotwords:
        audit_record(actor=actor, action=AuditAction.PROJECT_HOTWORDS, team=project.team, obj=project,
                     detail={"added": [w for w in hotwords if w not in before],
                             "removed": [w for w in before if w not in hotwords]})
    if changed:  # name, preset, speakers, numbers: each with what it was and what it became
        audit_record(actor=actor, action=AuditAction.PROJECT_SETTINGS, team=project.team, obj=project,
                     detail={"changed": changed})
    return project


def project_delete(*, actor: Actor, project: Project) -> None:
    """Delete the project with its media files (and export ZIPs) from storage."""
    with transaction.atomic():
        paths = [*project.media.values_list("file", flat=True), *project.exports.values_list("file", flat=True)]
        audit_record(actor=actor, action=AuditAction.PROJECT_DELETE, team=project.team, obj=project,
                     detail={"media": project.media.count()})
        project.delete()
        transaction.on_commit(lambda: media_delete_files(names=[p for p in paths if p]))
