from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination

from portal.inputs import whole_number


class Pagination(PageNumberPagination):
    """{"count", "next", "previous", "results"}; ?page=N (from 1) and ?page_size=M (1 to 200).
    A page that is not a whole number from 1 is 400; a page past the last one is 404."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):  # noqa: ANN001, ANN201 - DRF's signature
        whole_number(request.query_params.get(self.page_query_param), name=self.page_query_param, minimum=1)
        whole_number(request.query_params.get(self.page_size_query_param), name=self.page_size_query_param,
                     minimum=1, maximum=self.max_page_size)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFound(_("There is no page %(page)s: it is past the last page.") % {
                "page": request.query_params.get(self.page_query_param)}) from None

    def get_schema_operation_parameters(self, view):  # noqa: ANN001, ANN201
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number, from 1 (400 if not a whole number from 1; 404 past the last page).",
             "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Results per page, 1 to {self.max_page_size} (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
