"""What a job asks of the engine — the model preset, speakers, hotwords —
from its upload with the project's defaults, and which jobs may share one
engine call."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import Invalid
from portal.inputs import REFUSED_CLASS, text_refused
from transcription.presets import presets_all, speakers_available

SPEAKER_COUNTS = tuple(str(n) for n in range(2, 11))


def _exactly(n: str) -> str:
    return _("Exactly %(n)s") % {"n": n}


# lazy, so each label is translated in the language of the request that shows it
SPEAKER_CHOICES = (("off", gettext_lazy("Off")), ("auto", gettext_lazy("Detect automatically")),
                   *((n, lazy(_exactly, str)(n)) for n in SPEAKER_COUNTS))


# The one hotword rule (project form, project API, upload options, the glossary's add, the admin):
# at most MAX_HOTWORDS words of at most MAX_HOTWORD_CHARS characters each, no control characters,
# and no separator inside a word. Too much is refused with the reason, never cut short.
MAX_HOTWORDS = 200
MAX_HOTWORD_CHARS = 50
HOTWORD_SEPARATORS = re.compile(r"[,，\r\n]")
# One hotword as a pattern, for the API schema: neither a refused character nor a separator.
HOTWORD_PATTERN = f"^[^{REFUSED_CLASS},，\\r\\n]*$"


def hotwords_check(words: Iterable[str]) -> list[str]:
    """``words`` trimmed, without blanks or repeats, if they obey the hotword
    rule; else Invalid saying which word breaks it and how."""
    out: list[str] = []
    for raw in words:
        word = str(raw).strip()
        if not word:
            continue
        if text_refused(word):
            raise Invalid(_("The hotword %(word)s contains control characters (such as NUL); remove them.") % {
                "word": repr(word)})
        if HOTWORD_SEPARATORS.search(word):
            raise Invalid(_("The hotword “%(word)s” contains a comma or a line break; give each word on its "
                            "own.") % {"word": word})
        if len(word) > MAX_HOTWORD_CHARS:
            raise Invalid(_("The hotword “%(word)s…” has %(n)d characters; a hotword can have at most "
                            "%(max)d.") % {"word": word[:20], "n": len(word), "max": MAX_HOTWORD_CHARS})
        if word not in out:
            out.append(word)
    if len(out) > MAX_HOTWORDS:
        raise Invalid(_("That makes %(n)d hotwords; a project or an upload can have at most %(max)d.") % {
            "n": len(out), "max": MAX_HOTWORDS})
    return out


def hotwords_parse(*, text: str) -> list[str]:
    """Hotwords written one per line or comma, checked by the hotword rule."""
    return hotwords_check(HOTWORD_SEPARATORS.split(text))


def speakers_parse(value: Any) -> str:
    """"off", "auto" or "2".."10"; anything else is refused with the reason."""
    text = str(value).strip().lower()
    if text in ("off", "auto", *SPEAKER_COUNTS):
        return text
    raise Invalid(_("speakers must be off, auto or a number from 2 to 10 (got %(value)s).") % {"value": value})


def speakers_unavailable_reason() -> str:
    return _("Speaker detection is not available on this server: no speaker model is configured (ASR_SPK_MODEL).")


def preset_check(name: str) -> str:
    presets = presets_all()
    if name not in presets:
        raise Invalid(_("Unknown model preset %(name)s; choose one of: %(choices)s.") % {
            "name": name, "choices": ", ".join(presets)})
    return name


def upload_options(*, project: Any, preset: str | None = None, speakers: str | None = None,
                   hotwords: str | None = None) -> dict[str, Any]:
    """The options of a new job: the upload's choices, else the project's
    defaults. Raises Invalid with a message for a bad value."""
    name = preset_check(preset) if preset else (project.preset if project.preset in presets_all()
                                                 else next(iter(presets_all())))
    count = speakers_parse(speakers) if speakers not in (None, "") else speakers_parse(project.speakers or "off")
    if count != "off" and not speakers_available():
        if speakers not in (None, ""):
            raise Invalid(speakers_unavailable_reason())
        count = "off"  # a project default the server can no longer honour
    words = hotwords_parse(text=hotwords or "")
    return {"preset": name, "speakers": count, "hotwords": words}


def job_hotwords(*, project_hotwords: Iterable[Any], options: Mapping[str, Any] | None) -> list[str]:
    """The project's hotwords, then the upload's own, without blanks or repeats."""
    words = [*(project_hotwords or []), *((options or {}).get("hotwords") or [])]
    return list(dict.fromkeys(w.strip() for w in words if isinstance(w, str) and w.strip()))


def job_speakers(options: Mapping[str, Any] | None) -> str:
    """"off", "auto" or "2".."10" (old jobs' {"diarization": bool} read as off/auto)."""
    options = options or {}
    if "speakers" in options:
        return str(options["speakers"])
    return "auto" if options.get("diarization") else "off"


def job_preset(options: Mapping[str, Any] | None) -> str:
    """The model preset a job asked for ("" for jobs from before presets: the default)."""
    return str((options or {}).get("preset") or "")


def batch_key(*, project_hotwords: Iterable[Any], options: Mapping[str, Any] | None) -> Hashable:
    """Jobs with equal keys can be transcribed in one engine call: the same
    preset, hotword set and speaker choice."""
    options = options or {}
    return (job_preset(options),
            tuple(sorted(job_hotwords(project_hotwords=project_hotwords, options=options))),
            job_speakers(options))


def upload_choices(*, project: Any) -> dict[str, Any]:
    """What the upload form offers, with the project's defaults selected."""
    presets = presets_all()
    return {
        "presets": [(name, name) for name in presets] if len(presets) > 1 else [],
        "preset": project.preset if project.preset in presets else next(iter(presets)),
        "speakers": SPEAKER_CHOICES,
        "speakers_default": project.speakers if speakers_available() else "off",
        "speakers_unavailable": "" if speakers_available() else speakers_unavailable_reason(),
    }
