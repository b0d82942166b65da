"""Measured accuracy from corrections: for every approved transcript, the error rate of the machine's
first text against the text the team approved — characters for Chinese, words elsewhere, after the
same normalisation on both sides (`text.error_units`: case, punctuation, Simplified characters;
Chinese numerals as digits, the form the transcript pages show). A transcript rewritten beyond 50 %
is counted apart ("rewritten"): it says more about the recording than about the model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from kaldialign import edit_distance

from portal.models import Project, Team
from transcription.models import ReviewStatus, Revision, Transcript
from transcription.numbers import to_digits
from transcription.text import error_units, join_texts

REWRITTEN = 0.5
WORST = 5


@dataclass(frozen=True)
class Measure:
    errors: int
    units: int

    @property
    def rate(self) -> float:
        return self.errors / self.units if self.units else 0.0

    @property
    def rewritten(self) -> bool:
        return self.rate > REWRITTEN


def percent(rate: float | None) -> str:
    """An error rate as people read it ("3.2 %"); "—" when nothing was measured."""
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _units(text: str) -> list[str]:
    return error_units(to_digits(text))


def transcript_texts(*, transcript: Transcript) -> tuple[str, str]:
    """(the machine's first text, the text now): a segment's first revision holds what the model wrote."""
    first: dict[Any, str] = {}
    for segment_id, before in Revision.objects.filter(transcript=transcript).order_by("created_at", "pk") \
            .values_list("segment_id", "before"):
        first.setdefault(segment_id, before)
    segments = list(transcript.segments.order_by("index").values_list("pk", "text"))
    return join_texts(first.get(pk, text) for pk, text in segments), join_texts(text for _pk, text in segments)


def transcript_measure(*, transcript: Transcript) -> Measure | None:
    """The machine's errors against the approved text; None until the transcript is approved."""
    if transcript.review_status != ReviewStatus.APPROVED:
        return None
    machine, approved = transcript_texts(transcript=transcript)
    reference = _units(approved)
    return Measure(int(edit_distance(reference, _units(machine))["total"]), len(reference))


def _summary(measures: Iterable[Measure]) -> dict[str, Any]:
    total = list(measures)
    counted = [m for m in total if not m.rewritten]
    units = sum(m.units for m in counted)
    return {"transcripts": len(total), "rewritten": len(total) - len(counted), "units": units,
            "error_rate": round(sum(m.errors for m in counted) / units, 4) if units else None}


def project_accuracy(*, project: Project) -> dict[str, Any]:
    """Every approved transcript of the project: pooled error rate (rewritten ones apart), per preset,
    per month of approval, and the worst files."""
    return _accuracy(Transcript.objects.filter(job__project=project))


def team_accuracy(*, team: Team) -> dict[str, Any]:
    """The same across a team's projects, with a line per project."""
    return _accuracy(Transcript.objects.filter(job__project__team=team), by_project=True)


def _accuracy(transcripts: QuerySet[Transcript], *, by_project: bool = False) -> dict[str, Any]:
    rows = []
    for transcript in transcripts.filter(review_status=ReviewStatus.APPROVED) \
            .select_related("job__media", "job__project").order_by("approved_at", "pk"):
        measure = transcript_measure(transcript=transcript)
        assert measure is not None
        rows.append((transcript, measure))
    by_preset: dict[str, list[Measure]] = defaultdict(list)
    by_month: dict[str, list[Measure]] = defaultdict(list)
    for transcript, measure in rows:
        by_preset[transcript.preset].append(measure)
        by_month[transcript.approved_at.strftime("%Y-%m") if transcript.approved_at else ""].append(measure)
    worst = sorted(rows, key=lambda row: -row[1].rate)[:WORST]
    projects: dict[tuple[str, str], list[Measure]] = defaultdict(list)
    for transcript, measure in rows if by_project else ():
        projects[(transcript.job.project.name, str(transcript.job.project_id))].append(measure)
    extra = {"by_project": [{"project": pid, "name": name, **_summary(ms)}
                            for (name, pid), ms in sorted(projects.items())]} if by_project else {}
    return {
        **extra,
        **_summary(m for _t, m in rows),
        "by_preset": [{"preset": name, **_summary(ms)} for name, ms in sorted(by_preset.items())],
        "by_month": [{"month": month, **_summary(ms)} for month, ms in sorted(by_month.items())],
        "worst": [{"transcript": str(t.pk), "file": t.job.media.original_name, "error_rate": round(m.rate, 4),
                   "rewritten": m.rewritten} for t, m in worst if m.errors],
    }
