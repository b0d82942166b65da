"""The admin edge: ModelAdmins change objects only through services, acting
as the staff member (``Actor`` via admin), and show a refused change
(``DomainError``) as an error message instead of a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from portal.actor import Actor, Via
from portal.errors import DomainError


class ServiceAdminMixin:
    """For ModelAdmins whose saves and deletes call services. A service that
    refuses rolls the whole admin request back (its views run in a
    transaction) and the staff member sees why, on the page they came from."""

    def actor(self, request: HttpRequest) -> Actor:
        return Actor.from_request(request, via=Via.ADMIN)

    def _refusing(self, view: Callable[..., HttpResponse], request: HttpRequest, *args: Any,
                  **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as e:
            self.message_user(request, e.message, messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, *args, **kwargs):  # noqa: ANN001, ANN201 - Django's signature
        return self._refusing(super().changeform_view, request, *args, **kwargs)  # type: ignore[misc]

    def delete_view(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        return self._refusing(super().delete_view, request, *args, **kwargs)  # type: ignore[misc]

    def changelist_view(self, request, *args, **kwargs):  # noqa: ANN001, ANN201
        return self._refusing(super().changelist_view, request, *args, **kwargs)  # type: ignore[misc]


class ServiceModelAdmin(ServiceAdminMixin, admin.ModelAdmin):
    pass


class CascadingDeleteMixin:
    """For objects whose delete service removes everything below them (a
    team's projects, a project's jobs and files): the rows below are read-only
    in the admin, which must not block the delete on their account."""

    def get_deleted_objects(self, objs, request):  # noqa: ANN001, ANN201 - Django's signature
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        return to_delete, model_count, set(), protected
