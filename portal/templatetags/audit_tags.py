from __future__ import annotations

from typing import Any

from django import template

from portal.audit_display import audit_detail_lines

register = template.Library()


@register.filter
def audit_details(detail: dict[str, Any] | None) -> list[str]:
    """An audit entry's details as short phrases in the reader's language."""
    return audit_detail_lines(detail)
