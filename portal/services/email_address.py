"""A person's own email address: set or changed from Settings, confirmed by a
link sent to the new address (so nobody can point password resets and
notifications at a mailbox they do not read), and audited."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.context_processors import site_name
from portal.errors import Invalid
from portal.models import AuditAction, Profile
from portal.services.audit import audit_record

SALT = "portal.email-confirm"
CONFIRM_DAYS = 3


def _profile(user: object) -> Profile:
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def email_change_request(*, actor: Actor, email: str) -> str:
    """Send a confirmation link to ``email``; the address is the account's once it is opened."""
    user = actor.user
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(_("Enter a valid email address.")) from None
    if email.lower() == (user.email or "").lower():
        raise Invalid(_("This is already your email address."))
    if get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise Invalid(_("Another account uses this email address."))
    profile = _profile(user)
    profile.email_pending = email
    profile.save(update_fields=["email_pending"])
    token = signing.dumps({"u": user.pk, "e": email}, salt=SALT)
    context = {"user": user, "email": email, "days": CONFIRM_DAYS,
               "url": f"{settings.SITE_URL}{reverse('email_confirm', args=[token])}"}
    with translation.override(profile.language or translation.get_language() or settings.LANGUAGE_CODE):
        context["portal_name"] = site_name()
        subject = render_to_string("portal/email/email_confirm_subject.txt", context).strip()
        body = render_to_string("portal/email/email_confirm.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    return email


def email_change_confirm(*, actor: Actor, token: str) -> str:
    """Make the address in a confirmation link the signed-in person's; returns it."""
    try:
        data = signing.loads(token, salt=SALT, max_age=CONFIRM_DAYS * 86400)
    except signing.SignatureExpired:
        raise Invalid(_("This confirmation link has expired. Ask for a new one in Settings.")) from None
    except signing.BadSignature:
        raise Invalid(_("This confirmation link is not valid. Check that you copied all of it.")) from None
    user = actor.user
    profile = _profile(user)
    if data.get("u") != user.pk or data.get("e") != profile.email_pending:
        raise Invalid(_("This confirmation link is not for the address you last asked for, or not for this "
                        "account."))
    old = user.email
    user.email = profile.email_pending
    user.save(update_fields=["email"])
    profile.email_pending = ""
    profile.save(update_fields=["email_pending"])
    audit_record(actor=actor, action=AuditAction.ACCOUNT_EMAIL, team=None, obj=user,
                 obj_repr=user.get_username(), detail={"from": old, "to": user.email})
    return user.email


def email_change_cancel(*, actor: Actor) -> None:
    Profile.objects.filter(user=actor.user).update(email_pending="")
