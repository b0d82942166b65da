"""Template filters for the transcript workspace."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language_info

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



# Codes the models write that Django's language table knows under another name.
_LANGUAGE_ALIASES = {"zh": "zh-hans", "cmn": "zh-hans", "yue": "zh-hant"}


@register.filter
def language_name(code: str) -> str:
    """A transcript's language ("zh", "en", "ja") as the reader's language names it; the code if unknown."""
    try:
        return str(get_language_info(_LANGUAGE_ALIASES.get(code, code))["name_translated"])
    except KeyError:
        return code
