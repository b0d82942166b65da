"""Staff views of the people side. Membership changes made here are written
to the audit log like those made in the app; the audit log itself is
read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.models import AuditAction, AuditEvent, Membership, Profile, Project, Team
from portal.services.audit import audit_record

VIA_ADMIN = {"via": "admin"}


def _audit_added(request: HttpRequest, m: Membership) -> None:
    audit_record(request=request, action=AuditAction.MEMBER_ADD, team=m.team, obj=m.user,
                 detail={"role": m.role, **VIA_ADMIN})


def _audit_role(request: HttpRequest, m: Membership, before: str) -> None:
    audit_record(request=request, action=AuditAction.MEMBER_ROLE, team=m.team, obj=m.user,
                 detail={"before": before, "after": m.role, **VIA_ADMIN})


def _audit_removed(request: HttpRequest, m: Membership, user=None) -> None:
    audit_record(request=request, action=AuditAction.MEMBER_REMOVE, team=m.team, obj=user or m.user,
                 detail={"role": m.role, **VIA_ADMIN})


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "n_members", "n_projects", "created_at"]
    search_fields = ["name", "=id"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_members=Count("memberships", distinct=True), n_projects=Count("projects", distinct=True),
        )

    @admin.display(description=_("members"), ordering="n_members")
    def n_members(self, team: Team) -> int:
        return team.n_members

    @admin.display(description=_("projects"), ordering="n_projects")
    def n_projects(self, team: Team) -> int:
        return team.n_projects

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        initial = {f.instance.pk: (f.initial.get("user"), f.initial.get("role")) for f in formset.initial_forms}
        formset.save()
        for m in formset.deleted_objects:
            _audit_removed(request, m)
        for m, fields in formset.changed_objects:
            user_before, role_before = initial[m.pk]
            if "user" in fields:
                # Swapping the user on a row is a removal and an addition.
                previous = get_user_model().objects.filter(pk=user_before).first()
                _audit_removed(request, Membership(team=m.team, role=role_before), user=previous)
                _audit_added(request, m)
            elif "role" in fields:
                _audit_role(request, m, role_before)
        for m in formset.new_objects:
            _audit_added(request, m)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or team is a remove and an add.
        return ["team", "user", "created_at"] if obj else ["created_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            _audit_added(request, obj)
        elif "role" in form.changed_data:
            _audit_role(request, obj, form.initial.get("role", ""))

    def delete_model(self, request, obj):
        _audit_removed(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for m in queryset.select_related("team", "user"):
            _audit_removed(request, m)
        super().delete_queryset(request, queryset)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "n_jobs", "created_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "team__name", "=id"]
    list_select_related = ["team", "created_by"]
    autocomplete_fields = ["team"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_jobs=Count("jobs"))

    @admin.display(description=_("jobs"), ordering="n_jobs")
    def n_jobs(self, project: Project) -> int:
        return project.n_jobs


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "timezone", "email_on_finish"]
    list_filter = ["language", "email_on_finish"]
    list_select_related = ["user"]
    search_fields = ["user__username"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: staff can read and filter, nobody adds, edits or deletes."""

    list_display = ["created_at", "actor_name", "action", "team_name", "object_type", "object_repr", "ip"]
    list_filter = ["action", ("team", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["actor_name", "team_name", "object_repr", "=object_id", "=ip"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor_name", "actor", "ip", "action", "team_name", "team", "object_type", "object_id",
              "object_repr", "detail_display"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("detail"))
    def detail_display(self, event: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.detail, indent=2, ensure_ascii=False))
