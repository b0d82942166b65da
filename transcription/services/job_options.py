"""What a job asks of the engine (Job.options with its project's settings),
and which jobs may share one engine call."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any


def job_hotwords(*, project_hotwords: Iterable[Any], options: Mapping[str, Any] | None) -> list[str]:
    """The project's hotwords, then the upload's own, without blanks or repeats."""
    words = [*(project_hotwords or []), *((options or {}).get("hotwords") or [])]
    return list(dict.fromkeys(w.strip() for w in words if isinstance(w, str) and w.strip()))


def batch_key(*, project_hotwords: Iterable[Any], options: Mapping[str, Any] | None) -> Hashable:
    """Jobs with equal keys can be transcribed in one engine call: the same
    hotword set and the same diarization choice."""
    options = options or {}
    speakers = options.get("speakers", options.get("diarization"))
    return (tuple(sorted(job_hotwords(project_hotwords=project_hotwords, options=options))), str(speakers or ""))
