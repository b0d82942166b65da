"""What is asked of the model for each kind, and the JSON schema of the answer. The transcript is
given as numbered lines ("[12] 00:05:03 Alice: ..."); the model answers with those numbers only,
and code turns them into times (the model never writes a time)."""

from __future__ import annotations

import json
from dataclasses import dataclass

KINDS = ("summary", "action_items", "decisions", "chapters", "written", "template", "question")
LANGUAGE_NAMES = {"zh": "Chinese (简体中文)", "zh-hans": "Chinese (简体中文)", "zh-hant": "Chinese (繁體中文)",
                  "en": "English", "ja": "Japanese", "ko": "Korean", "yue": "Cantonese (粤语)",
                  "fr": "French", "de": "German", "es": "Spanish"}

_SEGMENTS = {"type": "array", "items": {"type": "integer"}}
SCHEMAS: dict[str, dict] = {
    "summary": {"type": "object", "required": ["text", "points"], "properties": {
        "text": {"type": "string"}, "points": {"type": "array", "items": {"type": "string"}}, "segments": _SEGMENTS}},
    "action_items": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["text", "segment"], "properties": {
            "text": {"type": "string"}, "owner": {"type": "string"}, "due": {"type": "string"},
            "segment": {"type": "integer"}}}}}},
    "decisions": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["text", "segment"], "properties": {
            "text": {"type": "string"}, "segment": {"type": "integer"}}}}}},
    "chapters": {"type": "object", "required": ["chapters"], "properties": {"chapters": {"type": "array", "items": {
        "type": "object", "required": ["title", "segment"], "properties": {
            "title": {"type": "string"}, "segment": {"type": "integer"}}}}}},
    "written": {"type": "object", "required": ["paragraphs"], "properties": {"paragraphs": {"type": "array", "items": {
        "type": "object", "required": ["text", "segment"], "properties": {
            "text": {"type": "string"}, "segment": {"type": "integer"}}}}}},
    "template": {"type": "object", "required": ["text"], "properties": {
        "text": {"type": "string"}, "segments": _SEGMENTS}},
    "question": {"type": "object", "required": ["answer"], "properties": {
        "answer": {"type": "string"}, "segments": _SEGMENTS}},
}

_TASKS = {
    "summary": "Summarise it: a paragraph in \"text\" (several sentences, complete enough to replace reading it) "
               "and the key points in \"points\" (short sentences); in \"segments\" the numbers of the lines that "
               "matter most.",
    "action_items": "List every action item: what is to be done (\"text\"), who is to do it (\"owner\": the "
                    "speaker's name where the transcript gives one, else \"\"), when, if said (\"due\", else \"\"), "
                    "and the number of the line where it was said (\"segment\").",
    "decisions": "List every decision that was made (\"text\") with the number of the line where it was made "
                 "(\"segment\").",
    "chapters": "Divide it into chapters by topic, in order: a short title for each (\"title\") and the number of "
                "the line where it starts (\"segment\").",
    "written": "Rewrite the spoken text as clean written paragraphs: remove fillers, repetitions and false "
               "starts, fix the grammar, keep every point and the meaning; do not summarise or add anything. For "
               "each paragraph give the number of its first line (\"segment\").",
    "template": "{instruction}\nPut the result in \"text\"; in \"segments\" the numbers of the lines it relies on.",
    "question": "Answer this question from the transcript only: {instruction}\nPut the answer in \"answer\" (say "
                "so if the transcript does not answer it); in \"segments\" the numbers of the lines that support it.",
}

_REDUCE = {
    "summary": "These are summaries of consecutive parts of one transcript. Combine them into one summary of the "
               "whole: a paragraph in \"text\" and the key points in \"points\".",
    "template": "These are results of the same request for consecutive parts of one transcript. Combine them into "
                "one result for the whole, as the request asks: {instruction}\nPut it in \"text\".",
    "question": "These are answers to the question \"{instruction}\" from consecutive parts of one transcript. "
                "Combine them into one answer in \"answer\" (leave out parts that did not answer it).",
}

SYSTEM = ("You help people turn meeting and interview transcripts into minutes. Each transcript line starts "
          "with its number in brackets, then the time and the speaker: \"[12] 00:05:03 Alice: text\". Refer to "
          "lines only by that number. Never write times yourself. Answer with a single JSON object and nothing "
          "else, following this JSON schema: {schema}\nWrite in {language}.")


@dataclass(frozen=True)
class Line:
    index: int
    start: float
    end: float
    speaker: str
    text: str

    def render(self) -> str:
        seconds = int(self.start)
        clock = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        who = f" {self.speaker}:" if self.speaker else ""
        return f"[{self.index}] {clock}{who} {self.text}"


def language_name(code: str) -> str:
    code = (code or "").lower()
    return LANGUAGE_NAMES.get(code) or LANGUAGE_NAMES.get(code.split("-")[0]) or code or "English"


def system_message(kind: str, language: str) -> dict[str, str]:
    schema = json.dumps(SCHEMAS[kind], separators=(",", ":"))
    return {"role": "system", "content": SYSTEM.format(schema=schema, language=language_name(language))}


def map_messages(kind: str, lines: list[Line], *, language: str, instruction: str = "", part: int = 1,
                 parts: int = 1) -> list[dict[str, str]]:
    where = f"Part {part} of {parts} of a transcript" if parts > 1 else "A transcript"
    task = _TASKS[kind].format(instruction=instruction)
    body = "\n".join(line.render() for line in lines)
    return [system_message(kind, language), {"role": "user", "content": f"{where}:\n{body}\n\n{task}"}]


def reduce_messages(kind: str, pieces: list[str], *, language: str, instruction: str = "") -> list[dict[str, str]]:
    task = _REDUCE[kind].format(instruction=instruction)
    body = "\n\n".join(f"Part {n}:\n{piece}" for n, piece in enumerate(pieces, 1))
    return [system_message(kind, language), {"role": "user", "content": f"{body}\n\n{task}"}]


def prompt_overhead(kind: str, *, language: str, instruction: str = "") -> list[dict[str, str]]:
    """The messages of a map call with no transcript lines: what every part costs besides its lines."""
    return map_messages(kind, [], language=language, instruction=instruction, part=99, parts=99)
