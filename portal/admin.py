"""Staff views of the people side. Every change made here goes through the
same services as the app (the team rules, storage cleanup, the audit log);
the audit log itself is read-only."""

from __future__ import annotations

import json

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_support import CascadingDeleteMixin, ServiceAdminMixin, ServiceModelAdmin
from portal.models import AuditEvent, Membership, Profile, Project, Role, Team
from portal.services import teams as team_services
from portal.services.accounts import sign_in_unlock, user_delete
from transcription.services.job_options import hotwords_parse

User = get_user_model()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(CascadingDeleteMixin, ServiceModelAdmin):
    list_display = ["name", "n_members", "n_projects", "created_at"]
    search_fields = ["name", "=id"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_members=Count("memberships", distinct=True), n_projects=Count("projects", distinct=True),
        )

    def has_add_permission(self, request) -> bool:
        return False  # a team is created by its first owner, in the app

    @admin.display(description=_("members"), ordering="n_members")
    def n_members(self, team: Team) -> int:
        return team.n_members

    @admin.display(description=_("projects"), ordering="n_projects")
    def n_projects(self, team: Team) -> int:
        return team.n_projects

    def save_model(self, request, obj, form, change):
        if "name" in form.changed_data:
            team_services.team_rename(actor=self.actor(request), team=obj, name=obj.name)
        if {"allow_urgent", "review_second_person", "llm_allowed"} & set(form.changed_data):
            # The instance already holds the new values; the service compares with the stored row.
            stored = Team.objects.get(pk=obj.pk)
            team_services.team_settings_set(actor=self.actor(request), team=stored,
                                            allow_urgent=form.cleaned_data["allow_urgent"],
                                            review_second_person=form.cleaned_data["review_second_person"],
                                            llm_allowed=form.cleaned_data["llm_allowed"])

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        actor = self.actor(request)
        formset.save(commit=False)
        team = form.instance
        current = {m.pk: m for m in Membership.objects.filter(team=team).select_related("team", "user")}
        # Additions and promotions first, so a team is never left without an owner midway.
        for m in formset.new_objects:
            team_services.membership_add(actor=actor, team=team, user=m.user, role=m.role)
        changed = sorted(formset.changed_objects, key=lambda pair: pair[0].role != Role.OWNER)
        for m, fields in changed:
            if "user" in fields:
                # Swapping the user on a row is a removal and an addition.
                team_services.membership_add(actor=actor, team=team, user=m.user, role=m.role)
                team_services.membership_remove(actor=actor, membership=current[m.pk])
            elif "role" in fields:
                team_services.membership_set_role(actor=actor, membership=current[m.pk], role=m.role)
        for m in formset.deleted_objects:
            team_services.membership_remove(actor=actor, membership=current[m.pk])

    def delete_model(self, request, obj):
        team_services.team_delete(actor=self.actor(request), team=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for team in queryset:
                team_services.team_delete(actor=self.actor(request), team=team)


@admin.register(Membership)
class MembershipAdmin(ServiceModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or team is a remove and an add.
        return ["team", "user", "created_at"] if obj else ["created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = team_services.membership_add(actor=self.actor(request), team=obj.team, user=obj.user,
                                                  role=obj.role).pk
        elif "role" in form.changed_data:
            team_services.membership_set_role(actor=self.actor(request), membership=Membership.objects.get(
                pk=obj.pk), role=obj.role)

    def delete_model(self, request, obj):
        team_services.membership_remove(actor=self.actor(request), membership=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for m in queryset.select_related("team", "user"):
                team_services.membership_remove(actor=self.actor(request), membership=m)


@admin.register(Project)
class ProjectAdmin(CascadingDeleteMixin, ServiceModelAdmin):
    list_display = ["name", "team", "created_by", "n_jobs", "created_at"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "team__name", "=id"]
    list_select_related = ["team", "created_by"]
    autocomplete_fields = ["team"]
    date_hierarchy = "created_at"
    fields = ["team", "name", "hotwords", "created_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["team", "created_by", "created_at"] if obj else ["created_by", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_jobs=Count("jobs"))

    @admin.display(description=_("jobs"), ordering="n_jobs")
    def n_jobs(self, project: Project) -> int:
        return project.n_jobs

    def save_model(self, request, obj, form, change):
        words = obj.hotwords if isinstance(obj.hotwords, list) else [obj.hotwords or ""]
        hotwords = hotwords_parse(text="\n".join(str(w) for w in words))
        if change:
            team_services.project_update(actor=self.actor(request), project=obj, name=obj.name, hotwords=hotwords)
        else:
            obj.pk = team_services.project_create(actor=self.actor(request), team=obj.team, name=obj.name,
                                                  hotwords=hotwords).pk

    def delete_model(self, request, obj):
        team_services.project_delete(actor=self.actor(request), project=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for project in queryset.select_related("team"):
                team_services.project_delete(actor=self.actor(request), project=project)


admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(CascadingDeleteMixin, ServiceModelAdmin, UserAdmin):
    """Django's user admin, but an account that is a team's only owner cannot be deleted."""

    def delete_model(self, request, obj):
        user_delete(actor=self.actor(request), user=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for user in queryset:
                user_delete(actor=self.actor(request), user=user)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Each user sets their own preferences under Settings; staff look."""

    list_display = ["user", "language", "timezone", "email_on_finish"]
    list_filter = ["language", "email_on_finish"]
    list_select_related = ["user"]
    search_fields = ["user__username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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


@admin.register(AccessAttempt)
class SignInAttemptAdmin(ServiceAdminMixin, AccessAttemptAdmin):
    """Failed sign-ins counted by django-axes; "Unlock" (or delete) lets a locked-out person in again."""

    actions = ["unlock"]

    @admin.action(description=_("Unlock: forget these failed sign-ins"))
    def unlock(self, request, queryset):
        count = sign_in_unlock(actor=self.actor(request), attempts=queryset)
        self.message_user(request, ngettext("%(n)d sign-in lock removed.", "%(n)d sign-in locks removed.",
                                            count) % {"n": count}, messages.SUCCESS)

    def delete_model(self, request, obj):
        sign_in_unlock(actor=self.actor(request), attempts=AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        sign_in_unlock(actor=self.actor(request), attempts=queryset)


admin.site.register(AccessLog, AccessLogAdmin)
