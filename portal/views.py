"""Pages of the people side: dashboard, teams, members, projects, settings.
Thin: forms in, access.py to reach objects, services to change them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.access import get_project_for_user, get_team_for_user, projects_for_user, teams_for_user
from portal.actor import Actor
from portal.errors import DomainError
from portal.forms import (
    InvitationForm,
    MemberAddForm,
    MemberRemoveForm,
    MemberRoleForm,
    ProfileForm,
    ProjectForm,
    TeamForm,
)
from portal.models import Membership, Role
from portal.services import teams as team_services
from portal.services.accounts import profile_for, profile_update
from portal.services.invitations import invitation_days, invitations_pending
from transcription import job_states
from transcription.asr.readiness import asr_readiness
from transcription.llm.config import llm_config
from transcription.queries.insights import llm_usage_for_team
from transcription.services.queue import queue_summary_for_user


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    teams = teams_for_user(request.user).annotate(n_projects=Count("projects", distinct=True))
    labels = dict(Role.choices)
    roles = {team_id: labels[role] for team_id, role in
             Membership.objects.filter(user=request.user).values_list("team_id", "role")}
    projects = projects_for_user(request.user).select_related("team").annotate(
        n_jobs=Count("jobs"),
        n_active=Count("jobs", filter=job_states.q_active(prefix="jobs__")),
    )
    return render(request, "portal/dashboard.html", {
        "teams": [(team, roles.get(team.id)) for team in teams],
        "projects": projects,
        "summary": queue_summary_for_user(user=request.user),
        # Staff learn that the models are missing here, before a job fails for it.
        "asr": asr_readiness() if request.user.is_staff else None,
    })


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = team_services.team_create(actor=Actor.from_request(request), name=form.cleaned_data["name"])
        messages.success(request, _("Team created."))
        return redirect("team", team_id=team.id)
    return render(request, "portal/team_form.html", {"form": form})


@login_required
def team_detail(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    return _render_team(request, team, add_form=MemberAddForm())


def _render_team(request: HttpRequest, team, *, add_form: MemberAddForm,
                 rename_form: TeamForm | None = None, invite_form: InvitationForm | None = None,
                 status: int = 200) -> HttpResponse:
    memberships = team.memberships.select_related("user").order_by("user__username")
    can_manage = team.membership.can_manage
    return render(request, "portal/team_detail.html", {
        "team": team,
        "membership": team.membership,
        "memberships": memberships,
        "projects": team.projects.annotate(n_jobs=Count("jobs")),
        "add_form": add_form,
        "rename_form": rename_form or TeamForm(initial={"name": team.name}),
        "roles": Membership._meta.get_field("role").choices,
        "invite_form": invite_form or InvitationForm(),
        "invitations": list(invitations_pending(team=team)) if can_manage else [],
        "invitation_days": invitation_days(),
        "llm_on": llm_config() is not None,
        "llm_usage": llm_usage_for_team(team=team),
    }, status=status)


@login_required
@require_POST
def team_rename(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    form = TeamForm(request.POST)
    if not form.is_valid():
        return _render_team(request, team, add_form=MemberAddForm(), rename_form=form, status=400)
    team_services.team_rename(actor=Actor.from_request(request), team=team, name=form.cleaned_data["name"])
    messages.success(request, _("Team renamed."))
    return redirect("team", team_id=team.id)


@login_required
@require_POST
def team_settings(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    team_services.team_settings_set(actor=Actor.from_request(request), team=team,
                                    allow_urgent=request.POST.get("allow_urgent") == "1",
                                    review_second_person=request.POST.get("review_second_person") == "1",
                                    llm_allowed=request.POST.get("llm_allowed") == "1")
    messages.success(request, _("Team settings saved."))
    return redirect("team", team_id=team.id)


@login_required
@require_POST
def member_add(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership = team_services.membership_add(
                actor=Actor.from_request(request), team=team,
                identifier=form.cleaned_data["identifier"], role=form.cleaned_data["role"],
            )
        except DomainError as e:
            identifier = form.cleaned_data["identifier"].strip()
            if "@" in identifier and not team_services.user_exists(identifier=identifier):
                # Someone new: offer the invitation, filled in, instead of a dead end.
                form.add_error("identifier", _("Nobody has an account with this email yet. Invite them by "
                                               "email below: they get a link to join."))
                return _render_team(request, team, add_form=form, status=400, invite_form=InvitationForm(
                    initial={"email": identifier, "role": form.cleaned_data["role"]}))
            form.add_error("identifier", e.message)
        else:
            messages.success(request, _("%(user)s added as %(role)s.") % {
                "user": membership.user.get_username(), "role": membership.get_role_display()})
            return redirect("team", team_id=team.id)
    return _render_team(request, team, add_form=form, status=400)


def _target_membership(team, username: str) -> Membership:
    return get_object_or_404(Membership, team=team, user__username=username)


@login_required
@require_POST
def member_role(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("team", team_id=team.id)
    target = _target_membership(team, form.cleaned_data["username"])
    team_services.membership_set_role(actor=Actor.from_request(request), membership=target,
                                      role=form.cleaned_data["role"])
    messages.success(request, _("Role updated."))
    return redirect("team", team_id=team.id)


@login_required
@require_POST
def member_remove(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    form = MemberRemoveForm(request.POST)
    if not form.is_valid():
        return redirect("team", team_id=team.id)
    target = _target_membership(team, form.cleaned_data["username"])
    team_services.membership_remove(actor=Actor.from_request(request), membership=target)
    if target.user_id == request.user.pk:
        messages.success(request, _("You left the team."))
        return redirect("dashboard")
    messages.success(request, _("Member removed."))
    return redirect("team", team_id=team.id)


@login_required
def project_create(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = team_services.project_create(
            actor=Actor.from_request(request), team=team, name=form.cleaned_data["name"],
            hotwords=form.cleaned_data["hotwords"], preset=form.cleaned_data["preset"],
            speakers=form.cleaned_data["speakers"] or "off", itn=form.cleaned_data["itn"] or "auto",
        )
        messages.success(request, _("Project created."))
        return redirect("project", project_id=project.id)
    return render(request, "portal/project_form.html", {"form": form, "team": team})


@login_required
def project_edit(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, manage=True)
    initial = {"name": project.name, "hotwords": "\n".join(project.hotwords), "preset": project.preset,
               "speakers": project.speakers, "itn": project.itn}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        team_services.project_update(actor=Actor.from_request(request), project=project,
                                     name=form.cleaned_data["name"], hotwords=form.cleaned_data["hotwords"],
                                     preset=form.cleaned_data["preset"],
                                     speakers=form.cleaned_data["speakers"] or project.speakers,
                                     itn=form.cleaned_data["itn"] or project.itn)
        messages.success(request, _("Project saved."))
        return redirect("project", project_id=project.id)
    return render(request, "portal/project_form.html",
                  {"form": form, "team": project.team, "project": project})


@login_required
def project_delete(request: HttpRequest, project_id: str) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, manage=True)
    if request.method == "POST":
        team_id = project.team_id
        team_services.project_delete(actor=Actor.from_request(request), project=project)
        messages.success(request, _("Project deleted."))
        return redirect("team", team_id=team_id)
    return render(request, "portal/project_confirm_delete.html", {
        "project": project, "n_media": project.media.count(),
    })


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    profile = profile_for(user=request.user)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        profile_update(actor=Actor.from_request(request), profile=profile, **form.cleaned_data)
        # In the language just chosen: the next page is shown in it.
        with translation.override(profile.language or translation.get_language_from_request(request)):
            messages.success(request, _("Preferences saved."))
            if profile.email_on_finish and not request.user.email:
                messages.warning(request, _("You asked for emails but have no email address yet: add one below."))
        return HttpResponseRedirect(reverse("preferences"))
    return render(request, "portal/preferences.html", {"form": form, "profile": profile})
