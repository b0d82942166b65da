"""Request-wide behaviour: the user's language and time zone, and domain errors as pages."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from portal.errors import DomainError
from portal.models import Profile, Theme
from portal.services.accounts import password_change_required


def _open_with_one_time_password(request: HttpRequest) -> bool:
    """What an account still on its printed password may open: changing it, signing out, and what the
    page itself needs."""
    allowed = (reverse("password_change"), reverse("password_change_done"), reverse("logout"), settings.STATIC_URL,
               "/api/", "/healthz", "/i18n/")
    return request.path.startswith(allowed)


class UserPreferencesMiddleware:
    """Use the signed-in user's language, time zone and theme, if they chose them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = Profile.objects.filter(user=user).first()
        request.theme = Theme.of(profile.theme if profile else None)
        if profile and profile.timezone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(profile.timezone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        if profile and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = profile.language
        if password_change_required(user=user, profile=profile) and not _open_with_one_time_password(request):
            messages.info(request, _("Choose a new password: the one printed when the portal was set up works "
                                     "only once."))
            return redirect("password_change")
        response = self.get_response(request)
        if profile and profile.language:
            response.headers.setdefault("Content-Language", profile.language)
        return response



def wants_json(request: HttpRequest) -> bool:
    """Scripts (the upload page, htmx buttons) ask for JSON answers."""
    return "application/json" in request.headers.get("Accept", "")


def safe_next(request: HttpRequest, *candidates: str | None) -> str | None:
    """The first candidate URL that stays on this site."""
    for target in candidates:
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                      require_https=request.is_secure()):
            return target
    return None


class DomainErrorMiddleware:
    """The web edge's one translation of portal.errors.DomainError: JSON
    ``{"detail"}`` with the error's status for scripts and htmx; for a form
    post, the message on the page the form came from; else an error page
    with the message and the status. Views catch an error themselves only
    where they show it in place (a form field, an edited segment)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if wants_json(request) or request.headers.get("HX-Request"):
            return JsonResponse({"detail": exception.message}, status=exception.status)
        if request.method == "POST":
            back = safe_next(request, request.POST.get("next"), request.headers.get("Referer"))
            if back:
                messages.error(request, exception.message)
                return redirect(back)
        return render(request, "error.html", {
            "message": exception.message, "back": safe_next(request, request.headers.get("Referer")),
        }, status=exception.status)
