"""Helpers shared by the transcription admin modules."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# Marks audit entries written by staff through the admin.
VIA_ADMIN = {"via": "admin"}

def url_or_none(name: str, *args: object) -> str | None:
    """The URL of a page another part of the app provides, if it exists."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def username(user) -> str:
    return user.get_username() if user else "—"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the application; staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
