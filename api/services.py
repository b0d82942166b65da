"""API tokens: create, find by key, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from api.models import ApiToken
from portal.actor import Actor
from portal.models import AuditAction
from portal.services.audit import audit_record

KEY_PREFIX = "tp_"
PREFIX_LENGTH = 10  # "tp_" plus 7 random characters: shown, never enough to guess
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, actor: Actor, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for the user and its key (the only time the key exists in clear). A credential:
    audited, with its name and prefix, never the key."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=key[:PREFIX_LENGTH], key_hash=key_hash(key)
    )
    audit_record(actor=actor, action=AuditAction.TOKEN_CREATE, team=None, obj=token,
                 obj_repr=f"{user.get_username()}: {token.name}", detail={"prefix": token.prefix})
    return token, key


def token_for_key(*, key: str) -> ApiToken | None:
    """The token with this key, noting when it was last used."""
    if not key or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, actor: Actor, token: ApiToken) -> None:
    audit_record(actor=actor, action=AuditAction.TOKEN_REVOKE, team=None, obj=token,
                 obj_repr=f"{token.user.get_username()}: {token.name}", detail={"prefix": token.prefix})
    token.delete()
