"""Request-wide behaviour of the work side: no upload spool outlives its request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from transcription.services.uploads import upload_handlers_release


class UploadSpoolCleanupMiddleware:
    """After every request (whatever the view did, and also when parsing the
    body failed half-way), delete the temporary files its upload handlers
    were writing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            upload_handlers_release(request)
