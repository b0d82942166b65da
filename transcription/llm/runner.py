"""One insight or answer from a transcript's lines, within the model's context however long the
transcript: the prompt is measured against the budget; lines that do not fit one request are worked
in sections (cut at speaker turns where one is near), each section's answer is read, and the parts
are combined (lists joined; summaries, template results and answers merged by further calls, in a
tree when even the parts do not fit one request). A server that still says the context was exceeded
gets the same work in smaller sections, once."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from transcription.llm.client import ChatResult, LlmError, LlmOverflow, chat
from transcription.llm.config import LlmConfig
from transcription.llm.context import context_tokens
from transcription.llm.prompts import SCHEMAS, Line, map_messages, prompt_overhead, reduce_messages
from transcription.llm.reader import Checked, read_answer
from transcription.llm.tokens import estimate_messages, estimate_tokens

log = logging.getLogger(__name__)
MERGED = ("summary", "template", "question")
SAFETY_TOKENS = 32
MAX_REFERENCES = 30


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    model: str = ""

    def add(self, result: ChatResult, messages: list[dict[str, str]]) -> None:
        # A server that reports no usage is counted by estimate, so budgets still see it.
        self.prompt_tokens += result.prompt_tokens or estimate_messages(messages)
        self.completion_tokens += result.completion_tokens or estimate_tokens(result.text)
        self.calls += 1
        self.model = result.model or self.model


@dataclass
class Outcome:
    content: Any
    references: list[dict[str, Any]]
    removed: int
    parts: int
    usage: Usage = field(default_factory=Usage)


# (parts done, parts, what a later run may resume from: None while parts are being combined)
Progress = Callable[[int, int, dict[str, Any] | None], None]


@dataclass
class _Plan:
    kind: str
    language: str
    instruction: str
    context: int
    scale: float  # estimates are multiplied by this (raised after an overflow)
    last_estimate: int = 0

    def output_tokens(self, config: LlmConfig) -> int:
        if self.kind == "written":  # the rewrite is about as long as what it rewrites
            return max(64, min(config.max_output_tokens, (self.context - self.overhead()) // 2))
        return max(64, min(config.max_output_tokens, self.context // 4))

    def overhead(self) -> int:
        return self.estimate(prompt_overhead(self.kind, language=self.language, instruction=self.instruction))

    def estimate(self, messages: list[dict[str, str]]) -> int:
        return int(estimate_messages(messages) * self.scale)

    def line_budget(self, config: LlmConfig) -> int:
        out = self.output_tokens(config)
        budget = self.context - out - self.overhead() - SAFETY_TOKENS
        if self.kind == "written":
            budget = min(budget, out)
        if budget < 64:
            raise LlmError(_("The model's context (%(tokens)d tokens) is too small for this request.")
                           % {"tokens": self.context})
        return budget


def sections(lines: list[Line], budget: int, *, scale: float = 1.0) -> list[list[Line]]:
    """Consecutive runs of lines, each estimated within ``budget`` tokens; a full section ends at
    the last change of speaker in its second half, where there is one."""
    cost = lambda line: int((estimate_tokens(line.render()) + 1) * scale)  # noqa: E731
    parts: list[list[Line]] = []
    current: list[Line] = []
    used = 0
    for line in _fitting(lines, budget, cost):
        if current and used + cost(line) > budget:
            cut = next((j for j in range(len(current) - 1, len(current) // 2, -1)
                        if current[j].speaker != current[j - 1].speaker), len(current))
            parts.append(current[:cut])
            current = current[cut:]
            used = sum(cost(x) for x in current)
        current.append(line)
        used += cost(line)
    if current:
        parts.append(current)
    return parts


def _fitting(lines: list[Line], budget: int, cost: Callable[[Line], int]) -> list[Line]:
    """A single line longer than a whole section is split into pieces with the same number."""
    out: list[Line] = []
    for line in lines:
        if cost(line) <= budget:
            out.append(line)
            continue
        size = max(16, len(line.text) * budget // (cost(line) + 1))
        out.extend(Line(line.index, line.start, line.end, line.speaker, line.text[i:i + size])
                   for i in range(0, len(line.text), size))
    return out


def run(*, config: LlmConfig, kind: str, lines: list[Line], language: str, instruction: str = "",
        progress: Progress | None = None, usage: Usage | None = None, resume: dict[str, Any] | None = None) -> Outcome:
    """``usage`` collects the tokens of every call, also when the request fails midway. ``resume``,
    what ``progress`` last handed over, skips the parts already answered (a worker that died midway:
    the same lines in the same sections)."""
    if not lines:
        raise LlmError(_("The transcript has no text to work from."))
    usage = usage if usage is not None else Usage()
    plan = _Plan(kind=kind, language=language, instruction=instruction, context=context_tokens(config), scale=1.0)
    try:
        return _run(config, plan, lines, usage, progress, resume)
    except LlmOverflow as e:
        # Our estimate was low for this model's tokenizer: learn by how much, or halve.
        if e.prompt_tokens:
            plan.scale = max(1.2, e.prompt_tokens / max(1, plan.last_estimate) * 1.15)
        else:
            plan.scale = 1.2 if e.limit and e.limit < plan.context else 2.0
        if e.limit:
            plan.context = min(plan.context, e.limit)
        log.info("language model context exceeded; working in smaller sections (scale %.2f)", plan.scale)
        return _run(config, plan, lines, usage, progress, None)


def _call(config: LlmConfig, plan: _Plan, messages: list[dict[str, str]], usage: Usage) -> str:
    plan.last_estimate = estimate_messages(messages)
    result = chat(config, messages, max_tokens=plan.output_tokens(config), schema=SCHEMAS[plan.kind],
                  schema_name=plan.kind)
    usage.add(result, messages)
    if result.finish_reason == "length" and not result.text.rstrip().endswith(("}", "]")):
        raise LlmError(_("The model's answer was cut off at %(tokens)d tokens.")
                       % {"tokens": plan.output_tokens(config)})
    return result.text


def _parts_key(plan: _Plan, parts: list[list[Line]]) -> str:
    digest = hashlib.sha256(f"{plan.kind}\n{plan.language}\n{plan.instruction}\n{len(parts)}".encode())
    for part in parts:
        digest.update(b"\x00" + "\n".join(line.render() for line in part).encode())
    return digest.hexdigest()


def _run(config: LlmConfig, plan: _Plan, lines: list[Line], usage: Usage, progress: Progress | None,
         resume: dict[str, Any] | None) -> Outcome:
    parts = sections(lines, plan.line_budget(config), scale=plan.scale)
    times = {line.index: (line.start, line.end) for line in lines}
    checked = Checked(times=times)
    answers: list[dict[str, Any]] = []
    key = _parts_key(plan, parts)
    if resume and resume.get("key") == key:
        answers = list(resume["answers"])
        checked.removed, checked.used = int(resume["removed"]), list(resume["used"])
    for number, part in enumerate(parts, 1):
        if number <= len(answers):
            continue
        messages = map_messages(plan.kind, part, language=plan.language, instruction=plan.instruction,
                                part=number, parts=len(parts))
        answers.append(read_answer(plan.kind, _call(config, plan, messages, usage), checked))
        if progress:
            progress(number, len(parts), {"key": key, "answers": answers, "removed": checked.removed,
                                          "used": checked.used})
    if plan.kind in MERGED and len(answers) > 1:
        answers = [_merge(config, plan, answers, usage, checked,
                          (lambda: progress(len(parts), len(parts), None)) if progress else None)]
    content, segments = _combine(plan.kind, answers, lines)
    references = [{"segment": n, "start": times[n][0], "end": times[n][1]}
                  for n in sorted(set(segments or checked.used))[:MAX_REFERENCES]]
    return Outcome(content=content, references=references, removed=checked.removed, parts=len(parts), usage=usage)


def _merge(config: LlmConfig, plan: _Plan, answers: list[dict[str, Any]], usage: Usage,
           checked: Checked, alive: Callable[[], None] | None) -> dict[str, Any]:
    """Combine part answers by further calls, as many at a time as fit, until one is left
    (``alive`` after each call renews the request's lease)."""
    segments = sorted({n for a in answers for n in a.get("segments", [])})
    limit = plan.context - plan.output_tokens(config) - SAFETY_TOKENS
    pieces = [json.dumps({k: v for k, v in a.items() if k != "segments"}, ensure_ascii=False) for a in answers]
    while len(pieces) > 1:
        merged: list[str] = []
        group: list[str] = []
        for piece in [*pieces, None]:
            if piece is not None and (not group or plan.estimate(
                    reduce_messages(plan.kind, [*group, piece], language=plan.language,
                                    instruction=plan.instruction)) <= limit):
                group.append(piece)
                continue
            if len(group) == 1:
                merged.append(group[0])
            elif group:
                messages = reduce_messages(plan.kind, group, language=plan.language, instruction=plan.instruction)
                answer = read_answer(plan.kind, _call(config, plan, messages, usage), checked)
                if alive:
                    alive()
                merged.append(json.dumps({k: v for k, v in answer.items() if k != "segments"}, ensure_ascii=False))
            group = [piece] if piece is not None else []
        if len(merged) == len(pieces):
            raise LlmError(_("The parts' answers are too long to combine within the model's context."))
        pieces = merged
    result = json.loads(pieces[0])
    result["segments"] = segments
    return result


def _combine(kind: str, answers: list[dict[str, Any]], lines: list[Line]) -> tuple[Any, list[int]]:
    """The stored content of each kind, and the segments it refers to."""
    if kind == "summary":
        answer = answers[0]
        return {"text": answer["text"], "points": answer["points"]}, answer["segments"]
    if kind in ("template", "question"):
        main = "answer" if kind == "question" else "text"
        return ({"text": answers[0][main]} if kind == "template" else answers[0][main]), answers[0]["segments"]
    if kind in ("action_items", "decisions"):
        items = [item for answer in answers for item in answer["items"]]
        return items, [item["segment"] for item in items if item["segment"] is not None]
    if kind == "written":
        paragraphs = [p for answer in answers for p in answer["paragraphs"]]
        return ({"text": "\n\n".join(p["text"] for p in paragraphs), "paragraphs": paragraphs},
                [p["segment"] for p in paragraphs if p["segment"] is not None])
    starts = sorted({c["segment"]: c for answer in answers for c in answer["chapters"]}.items())
    ordered = [line.index for line in lines]
    ends = {line.index: line.end for line in lines}
    begins = {line.index: line.start for line in lines}
    chapters = []
    for k, (segment, chapter) in enumerate(starts):
        if k + 1 < len(starts):
            next_at = ordered.index(starts[k + 1][0])
            end = ends[ordered[max(0, next_at - 1)]]
        else:
            end = ends[ordered[-1]]
        chapters.append({"title": chapter["title"], "segment": segment, "start": begins[segment], "end": end})
    return chapters, [c["segment"] for c in chapters]
