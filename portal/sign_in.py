"""Sign-in throttling: what a locked-out client sees (django-axes counts the
failed sign-ins in the database, so every web process sees the same count),
a limit per client address across usernames (against password spraying),
and a shared-cache rate limit for password reset requests."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.context_processors import site_name

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def lockout_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    return _("Too many failed sign-in attempts. Try again in %(minutes)d minutes, or ask an administrator "
             "to unlock your account.") % {"minutes": lockout_minutes()}


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: JSON {detail} for the API, the site's own page elsewhere."""
    message = lockout_message()
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(lockout_minutes() * 60)
    return response


def address_failures(address: str) -> int:
    """Failed sign-ins from ``address`` within the lockout window, whatever the username."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start"))["n"]
    return total or 0


class SignInBackend(AxesStandaloneBackend):
    """django-axes's lock per account and address (LOGIN_FAILURE_LIMIT), and a
    higher one per address across usernames (LOGIN_ADDRESS_FAILURE_LIMIT), so
    one guess at each of many accounts is locked too. Both answer with the
    same lockout page (web) or 429 JSON (API)."""

    def authenticate(self, request: HttpRequest, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        super().authenticate(request, username=username, password=password, **kwargs)
        address = getattr(request, "axes_ip_address", None)
        limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
        if address and limit and address_failures(address) >= limit:
            request.axes_locked_out = True
            raise AxesBackendPermissionDenied("too many failed sign-ins from this address")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/hour"`` → (5, 3600)."""
    count, _slash, period = rate.partition("/")
    try:
        return int(count), _PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ValueError(f"not a rate like 5/hour: {rate!r}") from None


def rate_limit_exceeded(*, scope: str, ident: str, rate: str) -> bool:
    """Count one request for ``ident`` in the current window of ``rate`` and say
    whether it went over. The count lives in the shared cache (Redis, or the
    database cache without it), so it holds across web processes."""
    limit, period = parse_rate(rate)
    window = int(time.time()) // period
    digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=period + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 60)
        count = 1
    return count > limit


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, limited to PASSWORD_RESET_RATE requests per client
    address and per email address (so nobody can flood an inbox)."""

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        address = self.request.META.get("REMOTE_ADDR") or "unknown"
        over = [rate_limit_exceeded(scope="password_reset_ip", ident=address, rate=settings.PASSWORD_RESET_RATE),
                rate_limit_exceeded(scope="password_reset_email", ident=email, rate=settings.PASSWORD_RESET_RATE)]
        if any(over):
            _count, period = parse_rate(settings.PASSWORD_RESET_RATE)
            response = render(self.request, "registration/locked_out.html", {
                "message": _("Too many password reset requests. Try again later."),
                "title": _("Too many requests"),
            }, status=429)
            response["Retry-After"] = str(period)
            return response
        # The portal's name in the email, not the host the request came to ("The 127.0.0.1:8000 team").
        self.extra_email_context = {"portal_name": site_name()}
        return super().form_valid(form)


class NewPasswordErrorsOnFirstField:
    """Django puts "This password is too common" under the repeat field; it is about the new password."""

    FIELD = "new_password1"

    def validate_password_for_user(self, user: Any, *_args: Any, **kwargs: Any) -> None:
        super().validate_password_for_user(user, self.FIELD, **kwargs)  # type: ignore[misc]


class PasswordChangeForm(NewPasswordErrorsOnFirstField, auth_forms.PasswordChangeForm):
    pass


class SetPasswordForm(NewPasswordErrorsOnFirstField, auth_forms.SetPasswordForm):
    pass


class LogoutView(auth_views.LogoutView):
    """Django answers GET with an empty 405 (logging out takes a POST): show a page with the button."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "registration/logout_get.html")
