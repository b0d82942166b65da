"""Every API error is JSON with a human-readable "detail"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.error_views import body_error_message
from portal.errors import DomainError


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid request."
    default_code = "invalid"


def _flatten(detail: Any, field: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = field if key in ("non_field_errors", "detail") else (f"{field}.{key}" if field else str(key))
            out.extend(_flatten(value, name))
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message}, status=exc.status)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": body_error_message(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError) and "header size" in str(exc.detail):
        exc = exceptions.ParseError(_("A part of the form has headers over 1 KB: shorten the file name."))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        # Keep the reason ("Viewers can read but not change anything.").
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = BadRequest(" ".join(exc.messages))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"} and isinstance(data["detail"], str):
        return response
    # Field errors: a readable summary in "detail", the per-field lists in "errors".
    response.data = {"detail": " ".join(_flatten(data)) or _("Invalid request."), "errors": data}
    return response


@csrf_exempt  # it changes nothing: a POST to a malformed id gets this 404, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/ answer like the rest of the API."""
    return JsonResponse({"detail": _("Not found.")}, status=404)
