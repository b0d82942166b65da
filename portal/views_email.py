"""Settings → Email address: ask for a new address (a link is sent to it), open the link, confirm."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.actor import Actor
from portal.services.email_address import email_change_cancel, email_change_confirm, email_change_request


@login_required
@require_POST
def email_change(request: HttpRequest) -> HttpResponse:
    if request.POST.get("cancel"):
        email_change_cancel(actor=Actor.from_request(request))
        messages.success(request, _("The address change was cancelled."))
        return redirect("preferences")
    email = email_change_request(actor=Actor.from_request(request), email=request.POST.get("email", ""))
    messages.success(request, _("We sent a link to %(email)s. Open it to confirm the address.") % {"email": email})
    return redirect("preferences")


@login_required
@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (a link preview or a mail scanner opening the link changes nothing); POST confirms."""
    if request.method == "POST":
        email = email_change_confirm(actor=Actor.from_request(request), token=token)
        messages.success(request, _("Your email address is now %(email)s.") % {"email": email})
        return redirect("preferences")
    return render(request, "portal/email_confirm.html", {"pending": request.user.profile.email_pending
                                                         if hasattr(request.user, "profile") else ""})
