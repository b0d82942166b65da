"""A page of a list and the list's length in one query.

``Paginator.get_page`` asks the database twice: COUNT(*) of the whole list, then the page's rows.
On PostgreSQL each query is a round trip to another process, and on a busy machine each round
trip waits for a CPU both ways (milliseconds, not the microseconds the query itself takes); so the
count rides along with the rows, as an uncorrelated subquery the database works out once.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Subquery, Value


def page_with_count(queryset: QuerySet, per_page: int, number: object) -> Page:
    """What ``Paginator(queryset, per_page).get_page(number)`` returns (a number that is not an
    integer gives the first page, one past either end the last), its rows already fetched."""
    paginator = Paginator(queryset, per_page)
    try:
        wanted = 1 if number is None else int(number)  # as Paginator.validate_number reads it
    except (TypeError, ValueError):
        wanted = 1
    if wanted >= 1:
        length = queryset.order_by().annotate(_all=Value(1)).values("_all").annotate(n=Count("pk")).values("n")
        start = (wanted - 1) * per_page
        rows = list(queryset.annotate(list_length=Subquery(length))[start:start + per_page])
        if rows:
            paginator.count = rows[0].list_length  # the cached property Paginator would fill with a COUNT
            return Page(rows, wanted, paginator)
    return paginator.get_page(number)  # past the end, or nothing at all: the usual two queries
