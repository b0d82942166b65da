"""Helpers shared by the transcription admin modules."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


def url_or_none(name: str, *args: object) -> str | None:
    """The URL of a page another part of the app provides, if it exists."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def username(user) -> str:
    return user.get_username() if user else "—"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the application; staff look, they do not edit or
    delete (deleting a project removes them, with their stored files)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
