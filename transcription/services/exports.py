"""Transcript exports: txt, docx, srt, vtt and json, with options to add
timestamps and speakers, convert between simplified and traditional Chinese
and switch punctuation between full and half width."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from docx import Document
from docx.shared import Pt, RGBColor

from portal.actor import Actor
from portal.errors import Invalid
from portal.inputs import text_clean, whole_number
from portal.models import AuditAction
from portal.services.audit import audit_record
from transcription.models import Segment, Transcript
from transcription.services.cues import split_cue
from transcription.services.export_insights import insights_docx, insights_export_data, insights_txt
from transcription.services.filenames import safe_filename, safe_stem
from transcription.services.itn import itn_enabled, segment_digits, segment_shown
from transcription.text import clock, is_cjk, join_texts, to_simplified, to_traditional

EXPORT_FORMATS = ("txt", "docx", "srt", "vtt", "json")
# What the export forms offer, in their order (Word first, the default).
FORMAT_CHOICES = (("docx", gettext_lazy("Word (.docx)")), ("txt", gettext_lazy("Text (.txt)")),
                  ("srt", gettext_lazy("Subtitles (.srt)")), ("vtt", gettext_lazy("WebVTT (.vtt)")),
                  ("json", gettext_lazy("Data (.json)")))
CONTENT_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}
CHINESE_CHOICES = ("", "simplified", "traditional")
MIN_CUE_CHARS, MAX_CUE_CHARS = 10, 200
PUNCTUATION_CHOICES = ("", "full", "half")


class ExportError(Invalid):
    """An unknown format or option (a user-facing message)."""


@dataclass(frozen=True)
class ExportOptions:
    timestamps: bool = False
    speakers: bool = False
    chinese: Literal["", "simplified", "traditional"] = ""
    punctuation: Literal["", "full", "half"] = ""
    itn: bool | None = None  # numbers as digits; None: the project's choice
    max_chars: int = 0  # srt/vtt: split longer cues at word boundaries; 0: one cue per segment

    def __post_init__(self) -> None:
        if self.chinese not in CHINESE_CHOICES:
            raise ExportError(f"Unknown Chinese conversion {self.chinese!r}.")
        if self.punctuation not in PUNCTUATION_CHOICES:
            raise ExportError(f"Unknown punctuation style {self.punctuation!r}.")
        if self.max_chars and not MIN_CUE_CHARS <= self.max_chars <= MAX_CUE_CHARS:
            raise ExportError(_("max_chars must be 0 (no limit) or from %(min)d to %(max)d.") % {
                "min": MIN_CUE_CHARS, "max": MAX_CUE_CHARS})

    @classmethod
    def from_query(cls, params: object) -> ExportOptions:
        """Options from a query string or form (``timestamps=1&speakers=1``);
        like an HTML checkbox, a missing flag is off."""
        get = params.get  # type: ignore[attr-defined]

        def flag(name: str) -> bool:
            return str(get(name) or "").lower() in ("1", "true", "on", "yes")

        itn = str(get("itn") or "").lower()
        if itn not in ("", "1", "true", "on", "yes", "0", "false", "off", "no"):
            raise ExportError(_("itn must be true or false."))
        try:
            max_chars = whole_number(get("max_chars") or "0", name="max_chars")
        except Invalid as exc:
            raise ExportError(exc.message) from None
        return cls(
            timestamps=flag("timestamps"),
            speakers=flag("speakers"),
            chinese=(get("chinese") or ""),
            punctuation=(get("punctuation") or ""),
            itn=None if not itn else itn in ("1", "true", "on", "yes"),
            max_chars=max_chars or 0,
        )


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class _Line:
    index: int
    start: float
    end: float
    text: str
    speaker: str  # engine label
    speaker_name: str  # display name
    words: list[tuple[str, float, float]] = field(default_factory=list)  # the model's tokens and times
    raw: str = ""  # what the model said (or the person typed), before any display transform
    digits: bool = False  # whether numbers are shown as digits in this line


# --- text transforms ----------------------------------------------------------

# Full-width punctuation and its half-width counterpart.
_FULL_TO_HALF = {
    "，": ",", "。": ".", "？": "?", "！": "!", "：": ":", "；": ";", "、": ",",
    "（": "(", "）": ")", "【": "[", "】": "]", "「": '"', "」": '"', "『": "'", "』": "'",
    "“": '"', "”": '"', "‘": "'", "’": "'", "《": "<", "》": ">", "…": "...", "～": "~",
    "—": "-", "　": " ",
}
_HALF_TO_FULL = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"}


def to_half_width(text: str) -> str:
    out = []
    for char in text:
        if char in _FULL_TO_HALF:
            out.append(_FULL_TO_HALF[char])
        elif 0xFF01 <= ord(char) <= 0xFF5E:  # full-width ASCII forms
            out.append(unicodedata.normalize("NFKC", char))
        else:
            out.append(char)
    return "".join(out)


def to_full_width(text: str) -> str:
    """ASCII punctuation next to CJK text becomes full width; punctuation in
    English sentences, numbers (3.14, 1,000) and times stays as it is."""
    out = []
    for i, char in enumerate(text):
        if char in _HALF_TO_FULL:
            prev = text[i - 1] if i else ""
            following = text[i + 1:].lstrip(" ")[:1]
            in_number = prev.isdigit() and following.isdigit()
            if not in_number and (is_cjk(prev) or is_cjk(following)):
                out.append(_HALF_TO_FULL[char])
                continue
        out.append(char)
    # Full-width punctuation carries its own spacing.
    result = "".join(out)
    return re.sub(r"([，。？！：；）]) +(?=\S)", r"\1", result)


def transform_text(text: str, options: ExportOptions) -> str:
    if options.chinese == "simplified":
        text = to_simplified(text)
    elif options.chinese == "traditional":
        text = to_traditional(text)
    if options.punctuation == "half":
        text = to_half_width(text)
    elif options.punctuation == "full":
        text = to_full_width(text)
    return text


# --- time formats -------------------------------------------------------------

def _hms(seconds: float) -> tuple[int, int, int, int]:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return hours, minutes, secs, millis


def srt_time(seconds: float) -> str:
    h, m, s, ms = _hms(seconds)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def vtt_time(seconds: float) -> str:
    h, m, s, ms = _hms(seconds)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


# --- building -----------------------------------------------------------------

def _lines(transcript: Transcript, options: ExportOptions) -> list[_Line]:
    names = transcript.speaker_names or {}
    itn = options.itn if options.itn is not None else itn_enabled(transcript=transcript)
    segments: Iterable[Segment] = transcript.segments.order_by("index")
    return [
        _Line(
            index=seg.index,
            start=seg.start,
            end=max(seg.end, seg.start),
            text=transform_text(segment_shown(seg, itn=itn).strip(), options),
            speaker=seg.speaker,
            speaker_name=transform_text(names.get(seg.speaker) or seg.speaker, options)
            if seg.speaker else "",
            words=[(w, a, b) for w, a, b in (seg.words or [])],
            raw=seg.text.strip(),
            digits=itn and not seg.verbatim,
        )
        for seg in segments
    ]


def cue_pieces(lines: list[_Line], options: ExportOptions) -> Iterator[tuple[_Line, float, float, str]]:
    """Subtitle cues: each line, cut to options.max_chars at word boundaries."""
    for line in lines:
        if not options.max_chars or len(line.text) <= options.max_chars:
            yield line, line.start, line.end, line.text
            continue
        for piece, start, end in split_cue(line.raw, line.start, line.end, line.words, options.max_chars):
            yield line, start, end, transform_text(segment_digits(piece) if line.digits else piece, options)


def _turns(lines: list[_Line]) -> Iterator[list[_Line]]:
    """Runs of consecutive lines by the same speaker."""
    turn: list[_Line] = []
    for line in lines:
        if turn and line.speaker != turn[-1].speaker:
            yield turn
            turn = []
        turn.append(line)
    if turn:
        yield turn


def _txt(lines: list[_Line], options: ExportOptions) -> str:
    if options.timestamps:
        out = []
        for line in lines:
            who = f"{line.speaker_name}: " if options.speakers and line.speaker_name else ""
            out.append(f"[{clock(line.start, hours=True)}] {who}{line.text}")
        return "\n".join(out) + "\n"
    if options.speakers and any(line.speaker for line in lines):
        paragraphs = []
        for turn in _turns(lines):
            who = f"{turn[0].speaker_name}: " if turn[0].speaker_name else ""
            paragraphs.append(who + join_texts(line.text for line in turn))
        return "\n\n".join(paragraphs) + "\n"
    return "\n".join(line.text for line in lines if line.text) + "\n"


def _srt(lines: list[_Line], options: ExportOptions) -> str:
    cues = []
    for n, (line, start, end, text) in enumerate(cue_pieces(lines, options), start=1):
        who = f"{line.speaker_name}: " if options.speakers and line.speaker_name else ""
        cues.append(f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{who}{text}\n")
    return "\n".join(cues)


def results_srt(segments: Iterable[object]) -> str:
    """SRT of an engine result's segments (anything with start, end, text and speaker) with no
    transcript behind them: `manage.py transcribe`. The same cues as the portal's export."""
    lines = [_Line(index=n, start=s.start, end=max(s.end, s.start), text=s.text.strip(), speaker=s.speaker,
                   speaker_name=s.speaker, raw=s.text) for n, s in enumerate(segments)]  # type: ignore[attr-defined]
    return _srt(lines, ExportOptions(speakers=True))


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


def _vtt(lines: list[_Line], options: ExportOptions) -> str:
    cues = ["WEBVTT\n"]
    for n, (line, start, end, piece) in enumerate(cue_pieces(lines, options), start=1):
        text = _vtt_escape(piece)
        if options.speakers and line.speaker_name:
            text = f"<v {_vtt_escape(line.speaker_name)}>{text}"
        cues.append(f"{n}\n{vtt_time(start)} --> {vtt_time(end)}\n{text}\n")
    return "\n".join(cues)


def _metadata(transcript: Transcript) -> dict[str, object]:
    job = transcript.job
    return {
        "title": safe_stem(job.media.original_name),
        "file": job.media.original_name,
        "project": job.project.name,
        "date": timezone.localtime(transcript.created_at),
        "duration": transcript.audio_seconds or job.media.duration or 0.0,
    }


def _json(transcript: Transcript, lines: list[_Line], options: ExportOptions) -> str:
    meta = _metadata(transcript)
    speakers = {}
    for line in lines:
        if line.speaker:
            speakers[line.speaker] = line.speaker_name
    data = {
        "id": str(transcript.id),
        "job": str(transcript.job_id),
        "file": meta["file"],
        "project": meta["project"],
        "language": transcript.language,
        "review_status": transcript.review_status,
        "created_at": transcript.created_at.isoformat(),
        "duration": meta["duration"],
        "text": join_texts(line.text for line in lines),
        "speakers": speakers,
        "options": asdict(options),
        "insights": insights_export_data(transcript=transcript),
        "segments": [
            {"index": line.index, "start": line.start, "end": line.end, "text": line.text,
             "speaker": line.speaker, "speaker_name": line.speaker_name,
             "words": [{"text": w, "start": a, "end": b} for w, a, b in line.words]}
            for line in lines
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# python-docx refuses a core property (title, comments) over 255 characters.
DOCX_PROPERTY_CHARS = 255


def _docx_property(text: str) -> str:
    text = text_clean(text)
    return text if len(text) <= DOCX_PROPERTY_CHARS else text[:DOCX_PROPERTY_CHARS - 1] + "…"


def _docx(transcript: Transcript, lines: list[_Line], options: ExportOptions) -> bytes:
    # docx is XML: every text goes through text_clean, so a control character a person or an
    # older version stored cannot make the export fail.
    meta = _metadata(transcript)
    doc = Document()
    doc.core_properties.title = _docx_property(str(meta["title"]))
    doc.core_properties.comments = _docx_property(f"{meta['project']} / {meta['file']}")
    doc.add_heading(text_clean(str(meta["title"])), level=1)
    info = doc.add_paragraph()
    facts = (
        (_("Project"), meta["project"]),
        (_("File"), meta["file"]),
        (_("Date"), date_format(meta["date"], "DATETIME_FORMAT")),
        (_("Duration"), clock(float(meta["duration"]), hours=True)),
    )
    for n, (label, value) in enumerate(facts):
        if n:
            info.add_run().add_break()
        info.add_run(f"{label}: ").bold = True
        info.add_run(text_clean(str(value)))
    insights_docx(doc, transcript=transcript)
    grey = RGBColor(0x75, 0x75, 0x75)

    def stamp(paragraph, seconds: float) -> None:  # noqa: ANN001
        run = paragraph.add_run(f"[{clock(seconds, hours=True)}] ")
        run.font.color.rgb = grey
        run.font.size = Pt(9)

    for turn in _turns(lines):
        name = text_clean(turn[0].speaker_name) if options.speakers else ""
        if options.timestamps:
            # One paragraph per segment so every timestamp is kept.
            for n, line in enumerate(turn):
                paragraph = doc.add_paragraph()
                stamp(paragraph, line.start)
                if name and n == 0:
                    paragraph.add_run(f"{name}: ").bold = True
                paragraph.add_run(text_clean(line.text))
        else:
            paragraph = doc.add_paragraph()
            if name:
                paragraph.add_run(f"{name}: ").bold = True
            paragraph.add_run(text_clean(join_texts(line.text for line in turn)))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def chapters_vtt(*, transcript: Transcript) -> str | None:
    """The insights' chapters as a WebVTT chapters track (``<track kind="chapters">``), or None."""
    chapters = insights_export_data(transcript=transcript).get("chapters")
    if not chapters:
        return None
    cues = [f"{n}\n{vtt_time(c['start'])} --> {vtt_time(c['end'])}\n{_vtt_escape(c['title'])}\n"
            for n, c in enumerate(chapters, start=1)]
    return "\n".join(["WEBVTT\n", *cues])


def transcript_render(*, transcript: Transcript, format: str,  # noqa: A002 - the contract's name
                      options: ExportOptions | None = None) -> ExportFile:
    """The transcript as a file in ``format``, named after the media file."""
    if format not in EXPORT_FORMATS:
        raise ExportError(f"Unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    options = options or ExportOptions()
    lines = _lines(transcript, options)
    if format == "docx":
        content = _docx(transcript, lines, options)
    elif format == "txt":
        content = (insights_txt(transcript=transcript) + _txt(lines, options)).encode("utf-8")
    elif format == "srt":
        content = _srt(lines, options).encode("utf-8")
    elif format == "vtt":
        content = _vtt(lines, options).encode("utf-8")
    else:
        content = _json(transcript, lines, options).encode("utf-8")
    return ExportFile(
        filename=safe_filename(transcript.job.media.original_name, format),
        content_type=CONTENT_TYPES[format],
        content=content,
    )


def transcript_export(*, actor: Actor, transcript: Transcript, format: str,  # noqa: A002 - the contract's name
                      options: ExportOptions | None = None) -> ExportFile:
    """A download of the transcript, recorded in the team's audit log."""
    options = options or ExportOptions()
    exported = transcript_render(transcript=transcript, format=format, options=options)
    audit_record(actor=actor, action=AuditAction.TRANSCRIPT_EXPORT, team=transcript.job.project.team,
                 obj=transcript, detail={"format": format, **asdict(options)})
    return exported


def transcript_chapters_export(*, actor: Actor, transcript: Transcript) -> ExportFile | None:
    """The chapters track download (None when the transcript has no chapters yet)."""
    track = chapters_vtt(transcript=transcript)
    if track is None:
        return None
    audit_record(actor=actor, action=AuditAction.TRANSCRIPT_EXPORT, team=transcript.job.project.team,
                 obj=transcript, detail={"format": "vtt", "track": "chapters"})
    name = safe_filename(transcript.job.media.original_name, "vtt").removesuffix(".vtt") + ".chapters.vtt"
    return ExportFile(filename=name, content_type=CONTENT_TYPES["vtt"], content=track.encode("utf-8"))
