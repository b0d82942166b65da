"""Invitations: an owner or admin invites someone by email; the emailed link
lets a new person choose a username and password and join with the chosen
role, and lets someone who already has an account just join.

The link carries a random token; only its SHA-256 is stored, so the table
alone cannot be turned into working links. A link works once, for its own
team only, until it expires (INVITATION_DAYS) or is revoked."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Conflict, Invalid, NotFound
from portal.models import AuditAction, Invitation, Membership, Team
from portal.services.audit import audit_record
from portal.services.teams import check_can_grant

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def invitation_days() -> int:
    return max(1, int(getattr(settings, "INVITATION_DAYS", DEFAULT_DAYS) or DEFAULT_DAYS))


def invitation_state(invitation: Invitation) -> InvitationState:
    """The one place that says whether a link still works."""
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= timezone.now():
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_url(*, invitation: Invitation, token: str) -> str:
    return f"{settings.SITE_URL}{reverse('invitation_accept', args=[invitation.team_id, token])}"


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    url: str


def invitations_pending(*, team: Team) -> QuerySet[Invitation]:
    return team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                                   expires_at__gt=timezone.now()).select_related("invited_by")


def invitation_create(*, actor: Actor, team: Team, email: str, role: str) -> Sent:
    """Invite ``email`` to the team as ``role`` and email them the link. A
    second invitation to the same address replaces the first (which stops
    working), so "send again" is just inviting again."""
    check_can_grant(actor=actor, team=team, role=role)
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(_("Enter a valid email address.")) from None
    if Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise Invalid(_("Someone with the email %(email)s is already a member of this team.") % {"email": email})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        for old in invitations_pending(team=team).filter(email__iexact=email):
            _revoke(actor=actor, invitation=old, replaced=True)
        invitation = Invitation.objects.create(
            team=team, email=email, role=role, token_hash=_hash(token), invited_by=actor.user,
            expires_at=timezone.now() + timedelta(days=invitation_days()))
        audit_record(actor=actor, action=AuditAction.INVITATION_CREATE, team=team, obj=invitation,
                     obj_repr=email, detail={"role": role, "days": invitation_days()})
    sent = Sent(invitation=invitation, url=invitation_url(invitation=invitation, token=token))
    try:
        _send(sent)
    except Exception:  # noqa: BLE001 - whatever the mail server said, the link must not stay live unsent
        log.exception("could not email the invitation %s", invitation.pk)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        raise Invalid(_("The invitation email could not be sent. Try again later, or ask your administrator "
                        "to check the email settings.")) from None
    return sent


def _send(sent: Sent) -> None:
    invitation = sent.invitation
    context = {"invitation": invitation, "team": invitation.team, "url": sent.url,
               "inviter": invitation.invited_by.get_username() if invitation.invited_by else "",
               "role": invitation.get_role_display(), "days": invitation_days()}
    # The invitee has no language preference yet: the inviter's interface language is the best guess.
    with translation.override(translation.get_language() or settings.LANGUAGE_CODE):
        subject = render_to_string("portal/email/invitation_subject.txt", context).strip()
        body = render_to_string("portal/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def invitation_for_token(*, team_id: object, token: str) -> Invitation:
    """The invitation this link stands for; a link for another team, or one
    that never existed, is not found. Its state is left to the caller to show."""
    invitation = (Invitation.objects.select_related("team", "invited_by")
                  .filter(team_id=team_id, token_hash=_hash(token or "")).first())
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. Check that you copied all of it."))
    return invitation


def _check_usable(invitation: Invitation) -> None:
    state = invitation_state(invitation)
    if state == InvitationState.ACCEPTED:
        raise Conflict(_("This invitation has already been used."))
    if state == InvitationState.REVOKED:
        raise Conflict(_("This invitation was withdrawn."))
    if state == InvitationState.EXPIRED:
        raise Conflict(_("This invitation has expired. Ask the team's owner for a new one."))


def user_for_invitation(*, invitation: Invitation) -> AbstractBaseUser | None:
    """The existing account the invitation is addressed to, if there is exactly one."""
    users = list(get_user_model().objects.filter(email__iexact=invitation.email, is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def _accept(*, actor: Actor, invitation: Invitation, user: AbstractBaseUser, created: bool) -> Membership:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _check_usable(locked)
    membership = Membership.objects.filter(team=invitation.team, user=user).first()
    already = membership is not None
    if membership is None:
        membership = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
    locked.accepted_at, locked.accepted_by = timezone.now(), user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    invitation.accepted_at, invitation.accepted_by = locked.accepted_at, user
    audit_record(actor=Actor(user=user, via=actor.via, ip=actor.ip), action=AuditAction.INVITATION_ACCEPT,
                 team=invitation.team, obj=invitation, obj_repr=invitation.email,
                 detail={"role": membership.role, "new_account": created, "already_member": already})
    return membership


def invitation_accept(*, actor: Actor, invitation: Invitation) -> Membership:
    """The signed-in user joins. Only the account the invitation was sent to
    may use it: someone signed in as another person is told so, not joined."""
    user = actor.user
    if user is None:
        raise Invalid(_("Sign in to accept this invitation."))
    if (user.email or "").strip().lower() != invitation.email.strip().lower():
        raise Invalid(_("This invitation is for %(email)s, but you are signed in as %(user)s.") % {
            "email": invitation.email, "user": user.get_username()})
    with transaction.atomic():
        return _accept(actor=actor, invitation=invitation, user=user, created=False)


def invitation_accept_new_user(*, actor: Actor, invitation: Invitation, username: str,
                               password: str) -> Membership:
    """A new person sets a username and password and joins in one step."""
    _check_usable(invitation)
    if user_for_invitation(invitation=invitation) is not None:
        raise Invalid(_("An account with this email already exists. Sign in to accept the invitation."))
    User = get_user_model()
    username = username.strip()
    if not username:
        raise Invalid(_("Choose a username."))
    if User.objects.filter(username__iexact=username).exists():
        raise Invalid(_("The username %(name)s is taken. Choose another.") % {"name": username})
    candidate = User(username=username, email=invitation.email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as e:
        raise Invalid(" ".join(e.messages)) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=invitation.email, password=password)
            return _accept(actor=actor, invitation=invitation, user=user, created=True)
    except IntegrityError:
        raise Invalid(_("The username %(name)s is taken. Choose another.") % {"name": username}) from None


def _revoke(*, actor: Actor, invitation: Invitation, replaced: bool = False) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action=AuditAction.INVITATION_REVOKE, team=invitation.team, obj=invitation,
                 obj_repr=invitation.email,
                 detail={"role": invitation.role, **({"replaced": True} if replaced else {})})


def invitation_revoke(*, actor: Actor, team: Team, invitation_id: object) -> Invitation:
    """Withdraw a pending invitation (owners and admins): its link stops working."""
    invitation = team.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("There is no such invitation."))
    check_can_grant(actor=actor, team=team, role=invitation.role)
    if invitation_state(invitation) != InvitationState.PENDING:
        raise Conflict(_("This invitation can no longer be withdrawn."))
    with transaction.atomic():
        _revoke(actor=actor, invitation=invitation)
    return invitation
