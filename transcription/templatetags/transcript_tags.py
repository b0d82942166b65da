"""Template filters for the transcript workspace."""

from __future__ import annotations

from django import template

from transcription.text import clock as text_clock

register = template.Library()




@register.filter
def clock(seconds: float | int | None) -> str:
    """1:02 or 1:02:03 from seconds, for reading (see transcription.text.clock)."""
    return text_clock(seconds if seconds is not None else 0)


@register.filter
def seconds_attr(seconds: float | int | None) -> str:
    """A locale-independent number for data-* attributes."""
    return f"{float(seconds or 0):.3f}"

