"""What the exports carry of a transcript's insights: the summary, action items, decisions and
chapters (the latest that succeeded; for an approved transcript, those it was approved with).
docx puts them before the transcript, txt as a preface, json under "insights"; the chapters are
also a WebVTT chapters track (exports.chapters_vtt)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from docx.document import Document as DocxDocument

from transcription.models import Transcript
from transcription.queries.insights import insight_for_export
from transcription.text import clock

EXPORTED_KINDS = ("summary", "action_items", "decisions", "chapters")


def insights_export_data(*, transcript: Transcript) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for kind in EXPORTED_KINDS:
        insight = insight_for_export(transcript=transcript, kind=kind)
        if insight is not None and insight.content is not None:
            data[kind] = insight.content
    return data


def _item_line(item: dict[str, Any]) -> str:
    when = f"[{clock(item['start'], hours=True)}] " if item.get("start") is not None else ""
    extra = ", ".join(x for x in (item.get("owner", ""), item.get("due", "")) if x)
    return f"{when}{item.get('text') or item.get('title', '')}" + (f" ({extra})" if extra else "")


def _sections(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    if "summary" in data:
        summary = data["summary"]
        out.append((_("Summary"), [summary.get("text", ""), *[f"• {p}" for p in summary.get("points", [])]]))
    for kind, title in (("action_items", _("Action items")), ("decisions", _("Decisions")),
                        ("chapters", _("Chapters"))):
        if data.get(kind):
            out.append((title, [_item_line(item) for item in data[kind]]))
    return out


def insights_txt(*, transcript: Transcript) -> str:
    sections = _sections(insights_export_data(transcript=transcript))
    if not sections:
        return ""
    blocks = [f"{title}\n" + "\n".join(line for line in lines if line) for title, lines in sections]
    return "\n\n".join(blocks) + "\n\n" + _("Transcript") + "\n\n"


def insights_docx(doc: DocxDocument, *, transcript: Transcript) -> None:
    sections = _sections(insights_export_data(transcript=transcript))
    for title, lines in sections:
        doc.add_heading(title, level=2)
        for line in lines:
            if line:
                doc.add_paragraph(line)
    if sections:
        doc.add_heading(_("Transcript"), level=2)

