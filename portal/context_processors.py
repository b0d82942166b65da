"""Template context every page gets."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _


def site_name() -> str:
    """SITE_NAME, or the portal's own name in the reader's language."""
    return settings.SITE_NAME or _("Transcription portal")


def site(request: HttpRequest | None = None) -> dict[str, str]:
    # not "site_name": Django's auth views put the request's host there
    return {"portal_name": site_name()}
