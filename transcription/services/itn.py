"""When transcripts show numbers as digits, and what a segment then shows.

The stored segment text stays what the model said (``Segment.text``); its
digits version is kept beside it (``text_itn``). A project chooses: "on",
"off", or "auto" (on for Chinese transcripts). Pages, search and exports
show ``text_itn`` where it is on. A person edits what they see, so an edit
is saved as typed and marked ``verbatim``: digits a person wrote are never
turned back, and never normalised again.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from transcription.numbers import to_digits
from transcription.presets import preset_get
from transcription.text import is_cjk

ITN_CHOICES = (("auto", _("Automatic (on for Chinese)")), ("on", _("On")), ("off", _("Off")))


def itn_enabled(*, transcript: Any) -> bool:
    """The project's choice for this transcript (``auto``: Chinese transcripts)."""
    choice = transcript.job.project.itn
    if choice in ("on", "off"):
        return choice == "on"
    language = transcript.language or getattr(preset_get(transcript.preset), "language", "")
    if language:
        return language in ("zh", "yue")
    return any(is_cjk(ch) for ch in transcript.text[:200])


def segment_digits(text: str) -> str:
    return to_digits(text)


def segment_shown(segment: Any, *, itn: bool) -> str:
    """What a segment shows: with digits where ITN is on (and the model's text was kept)."""
    return (segment.text_itn or segment.text) if itn else segment.text
