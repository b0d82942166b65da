"""Template filters for the transcript workspace."""

from __future__ import annotations

from django import template

register = template.Library()

SPEAKER_COLOURS = 8


@register.filter
def clock(seconds: float | int | None) -> str:
    """1:02 or 1:02:03 from seconds, for reading (floor, like media players)."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def seconds_attr(seconds: float | int | None) -> str:
    """A locale-independent number for data-* attributes."""
    return f"{float(seconds or 0):.3f}"
