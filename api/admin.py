from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from api.models import ApiToken
from api.services import token_revoke
from portal.actor import Actor, Via


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff can see and revoke (delete) tokens; keys are never shown, and
    tokens are created by their owners only (the key is shown to them once)."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    list_filter = ["created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username", "user__email"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        token_revoke(actor=Actor.from_request(request, via=Via.ADMIN), token=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001 - Django's signature
        for token in queryset:
            token_revoke(actor=Actor.from_request(request, via=Via.ADMIN), token=token)
