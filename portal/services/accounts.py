"""Accounts: a user's own preferences, and deleting an account."""

from __future__ import annotations

import secrets

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Invalid
from portal.models import AuditAction, Membership, Profile, Role, Theme
from portal.services.audit import audit_record
from portal.services.teams import ensure_another_owner


def profile_for(*, user: AbstractBaseUser) -> Profile:
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(*, actor: Actor, profile: Profile, language: str, timezone: str,
                   email_on_finish: bool, theme: str = Theme.SYSTEM) -> Profile:
    """The acting user's interface language, time zone, theme and notifications."""
    if theme not in Theme.values:
        raise Invalid(_("Choose System, Light or Dark."))
    profile.language, profile.timezone, profile.email_on_finish = language, timezone, email_on_finish
    profile.theme = theme
    profile.save(update_fields=["language", "timezone", "theme", "email_on_finish"])
    return profile


def admin_create_first(*, actor: Actor, username: str = "admin") -> tuple[AbstractBaseUser, str] | None:
    """The first superuser, with a one-time password to print, when no account exists at all (so a
    second `make run` creates nothing). Its first sign-in asks for a new password."""
    User = get_user_model()
    with transaction.atomic():
        if User.objects.exists():
            return None
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username, "", password)
        Profile.objects.create(user=user, one_time_password=user.password)
        audit_record(actor=actor, action=AuditAction.ACCOUNT_CREATE, team=None, obj=user, obj_repr=username,
                     detail={"superuser": True})
    return user, password


def password_change_required(*, user: AbstractBaseUser, profile: Profile | None) -> bool:
    """Still signing in with the password that was printed for it."""
    return bool(profile and profile.one_time_password and profile.one_time_password == user.password)


def user_delete(*, actor: Actor, user: AbstractBaseUser) -> None:
    """Delete an account (staff). Refused while it is the only owner of a
    team: the team would be left with nobody to manage it."""
    with transaction.atomic():
        for membership in Membership.objects.select_related("team").filter(user=user, role=Role.OWNER):
            try:
                ensure_another_owner(membership)
            except Invalid:
                raise Invalid(_("%(user)s is the only owner of the team %(team)s. Make someone else an owner "
                                "of it first.") % {"user": user.get_username(), "team": membership.team.name})
        for membership in Membership.objects.select_related("team").filter(user=user):
            audit_record(actor=actor, action=AuditAction.MEMBER_REMOVE, team=membership.team, obj=user,
                         detail={"role": membership.role, "account_deleted": True})
        user.delete()


def sign_in_unlock(*, actor: Actor, attempts: QuerySet[AccessAttempt]) -> int:
    """Forget these failed sign-ins (staff), so a locked-out person can sign in again at once."""
    with transaction.atomic():
        rows = list(attempts.values_list("pk", "username", "ip_address"))
        for _pk, username, ip in rows:
            audit_record(actor=actor, action=AuditAction.SIGN_IN_UNLOCK, team=None, obj=None,
                         obj_repr=f"{username or '?'} @ {ip or '?'}", detail={"username": username, "ip": ip})
        AccessAttempt.objects.filter(pk__in=[pk for pk, _u, _i in rows]).delete()
    return len(rows)
