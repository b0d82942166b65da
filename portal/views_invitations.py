"""Invitations by email: sending and withdrawing them (team owners and
admins), and the page the emailed link opens (anyone holding the link)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import get_team_for_user, parse_uuid
from portal.actor import Actor
from portal.errors import DomainError
from portal.forms import InvitationAcceptForm, InvitationForm, MemberAddForm
from portal.services import invitations as invitation_services
from portal.services.invitations import InvitationState, invitation_state
from portal.views import _render_team


@login_required
@require_POST
def invitation_create(request: HttpRequest, team_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            sent = invitation_services.invitation_create(
                actor=Actor.from_request(request), team=team,
                email=form.cleaned_data["email"], role=form.cleaned_data["role"])
        except DomainError as e:
            form.add_error("email", e.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s. The link works for %(days)d days.") % {
                "email": sent.invitation.email, "days": invitation_services.invitation_days()})
            return redirect("team", team_id=team.id)
    return _render_team(request, team, add_form=MemberAddForm(), invite_form=form, status=400)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, team_id: str, invitation_id: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id, manage=True)
    invitation = invitation_services.invitation_revoke(actor=Actor.from_request(request), team=team,
                                                       invitation_id=parse_uuid(invitation_id))
    messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("team", team_id=team.id)


_STATE_MESSAGES = {
    InvitationState.ACCEPTED: lambda: _("This invitation has already been used."),
    InvitationState.REVOKED: lambda: _("This invitation was withdrawn."),
    InvitationState.EXPIRED: lambda: _("This invitation has expired. Ask the team's owner for a new one."),
}


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, team_id: str, token: str) -> HttpResponse:
    """The emailed link. Not signed in: a new person creates an account here
    (someone with an account signs in first); signed in: join with one click,
    if the invitation was sent to this account's email."""
    invitation = invitation_services.invitation_for_token(team_id=parse_uuid(team_id), token=token)
    state = invitation_state(invitation)
    context: dict[str, object] = {"invitation": invitation, "team": invitation.team}
    if state != InvitationState.PENDING:
        context["problem"] = _STATE_MESSAGES[state]()
        return render(request, "portal/invitation_accept.html", context, status=410)
    actor = Actor.from_request(request)
    if request.user.is_authenticated:
        matches = (request.user.email or "").strip().lower() == invitation.email.strip().lower()
        context["mismatch"] = not matches
        if request.method == "POST" and matches:
            membership = invitation_services.invitation_accept(actor=actor, invitation=invitation)
            messages.success(request, _("Welcome to %(team)s. Your role: %(role)s.") % {
                "team": invitation.team.name, "role": membership.get_role_display()})
            return redirect("team", team_id=invitation.team_id)
        return render(request, "portal/invitation_accept.html", context)
    if invitation_services.user_for_invitation(invitation=invitation) is not None:
        context["has_account"] = True
        return render(request, "portal/invitation_accept.html", context)
    form = InvitationAcceptForm(request.POST or None,
                                initial={"username": invitation.email.split("@", 1)[0]})
    if request.method == "POST" and form.is_valid():
        try:
            membership = invitation_services.invitation_accept_new_user(
                actor=actor, invitation=invitation, username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"])
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to %(team)s. Your role: %(role)s.") % {
                "team": invitation.team.name, "role": membership.get_role_display()})
            return redirect("team", team_id=invitation.team_id)
    context["form"] = form
    return render(request, "portal/invitation_accept.html", context, status=400 if form.errors else 200)
