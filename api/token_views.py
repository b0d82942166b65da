"""Settings → API tokens: see, create and revoke my tokens (web pages)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from api.forms import TokenForm
from api.models import ApiToken
from api.services import token_create, token_revoke
from portal.actor import Actor

# The new key travels to the next page load in the session, and only once.
SESSION_KEY = "api_new_token"


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            token, key = token_create(actor=Actor.from_request(request), user=request.user,
                                      name=form.cleaned_data["name"])
            request.session[SESSION_KEY] = {"id": token.pk, "key": key}
            return redirect("api_tokens")
        status = 400
    else:
        status = 200
    new = request.session.pop(SESSION_KEY, None)
    return render(request, "api/tokens.html", {
        "form": form if request.method == "POST" else TokenForm(),
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_token": new,
        "api_root": f"{settings.SITE_URL}/api/v1/",
    }, status=status)


@login_required
@require_POST
def token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, _("Token “%(name)s” revoked. Scripts using it can no longer sign in.")
                     % {"name": token.name})
    return redirect("api_tokens")
