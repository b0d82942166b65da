"""Error answers the framework gives before (or instead of) our views: a
failed CSRF check, a body Django refuses to parse, a crash. Under /api/ they
are JSON ``{"detail"}`` like every other API answer; elsewhere the site's
own page."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from portal.context_processors import site_name


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _answer(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"message": message}, status=status)


def body_error_message(exception: BaseException | None) -> str:
    if isinstance(exception, TooManyFieldsSent):
        return _("Too many form fields in one request (the limit is %(n)d).") % {
            "n": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
    if isinstance(exception, TooManyFilesSent):
        return _("Too many files in one request (the limit is %(n)d). Send them in several requests, or as a "
                 "ZIP.") % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    if isinstance(exception, RequestDataTooBig):
        return _("The form data is too large (files aside, the limit is %(mb)d MB).") % {
            "mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)}
    return _("The request could not be read.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW."""
    if is_api(request):
        return JsonResponse({"detail": _("CSRF check failed: send a token (Authorization: Token <key>), or the "
                                         "CSRF token with a browser session.")}, status=403)
    return _answer(request, _("This form has expired or did not come from this site. Reload the page and try "
                              "again."), 403)


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return _answer(request, body_error_message(exception), 400)


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": str(exception) or _("You do not have permission to do this.")}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": _("Something went wrong on the server. Try again later.")}, status=500)
    # Without the request's context processors (the failure may be in them, or in the database).
    return HttpResponse(loader.get_template("500.html").render({"portal_name": site_name()}), status=500)
