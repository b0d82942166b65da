"""Reading what the model wrote, tolerantly (code fences, prose around the JSON, numbers as "12" or
"[12]"), into each kind's content. Segment numbers are checked against the transcript: times come
from the segments, never from the model; a number that is not a line of the transcript is dropped
and counted. An answer with no readable JSON is an error, never half a result."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"^\s*\[?\s*#?(\d{1,7})\s*\]?\s*$")


class Unreadable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Checked:
    """Segment numbers looked up in the transcript: kept ones give times, others are counted."""

    times: dict[int, tuple[float, float]]
    removed: int = 0
    used: list[int] = field(default_factory=list)

    def segment(self, value: object) -> int | None:
        if value is None or value == "":
            return None
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if number is None and isinstance(value, (str, float)):
            match = _NUMBER.match(str(value).removesuffix(".0"))
            number = int(match.group(1)) if match else None
        if number is None or number not in self.times:
            self.removed += 1
            return None
        if number not in self.used:
            self.used.append(number)
        return number

    def segments(self, values: object) -> list[int]:
        found = [self.segment(v) for v in values] if isinstance(values, list) else []
        return sorted({n for n in found if n is not None})

    def start(self, number: int | None) -> float | None:
        return self.times[number][0] if number is not None else None


def parse_json(text: str) -> Any:
    """The first JSON object or array in the answer."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for match in re.finditer(r"[\[{]", candidate):
            try:
                value, _end = decoder.raw_decode(candidate[match.start():])
            except ValueError:
                continue
            if isinstance(value, (dict, list)):
                return value
    raise Unreadable(_("The model's answer could not be read (it was not the JSON asked for)."))


def _text(value: object) -> str:
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""


def _items(answer: Any, key: str) -> list[dict]:
    if isinstance(answer, dict):
        answer = answer.get(key, next((v for v in answer.values() if isinstance(v, list)), None))
    if not isinstance(answer, list):
        raise Unreadable(_("The model's answer could not be read (no list of %(what)s in it).") % {"what": key})
    return [item for item in answer if isinstance(item, dict)]


def _object(answer: Any) -> dict:
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        answer = answer[0]
    if not isinstance(answer, dict):
        raise Unreadable(_("The model's answer could not be read (it was not the JSON asked for)."))
    return answer


def read_answer(kind: str, text: str, checked: Checked) -> dict[str, Any]:
    """One answer (a part's or the combined one) as plain content with segment numbers and starts."""
    answer = parse_json(text)
    if kind == "summary":
        data = _object(answer)
        points = data.get("points")
        return {"text": _text(data.get("text") or data.get("summary")),
                "points": [_text(p) for p in points if _text(p)] if isinstance(points, list) else [],
                "segments": checked.segments(data.get("segments"))}
    if kind == "action_items":
        rows = []
        for item in _items(answer, "items"):
            segment = checked.segment(item.get("segment"))
            if _text(item.get("text") or item.get("task")):
                rows.append({"text": _text(item.get("text") or item.get("task")), "owner": _text(item.get("owner")),
                             "due": _text(item.get("due")), "segment": segment, "start": checked.start(segment)})
        return {"items": rows}
    if kind in ("decisions", "written"):
        key = "items" if kind == "decisions" else "paragraphs"
        rows = []
        for item in _items(answer, key):
            segment = checked.segment(item.get("segment"))
            if _text(item.get("text")):
                rows.append({"text": _text(item.get("text")) if kind == "decisions" else str(item["text"]).strip(),
                             "segment": segment, "start": checked.start(segment)})
        return {key: rows}
    if kind == "chapters":
        rows = []
        for item in _items(answer, "chapters"):
            segment = checked.segment(item.get("segment"))
            if segment is not None and _text(item.get("title")):
                rows.append({"title": _text(item.get("title")), "segment": segment})
        return {"chapters": rows}
    data = _object(answer)
    main = "answer" if kind == "question" else "text"
    value = data.get(main) or data.get("text") or data.get("answer")
    if not _text(value):
        raise Unreadable(_("The model's answer could not be read (it was empty)."))
    return {main: str(value).strip(), "segments": checked.segments(data.get("segments"))}
