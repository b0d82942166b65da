"""What the insights panel, the API and the exports read: the latest insight of each kind for a
transcript (stale or not), its questions, the lines sent to the model, and token usage per team
and month."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Team
from transcription import llm_states
from transcription.llm.config import llm_config, llm_missing_settings
from transcription.llm.prompts import Line
from transcription.models import Insight, InsightKind, LlmStatus, Question, Transcript
from transcription.services.itn import itn_enabled, segment_shown

BUILT_IN_KINDS = [k for k in InsightKind if k != InsightKind.TEMPLATE]


def transcript_lines(*, transcript: Transcript) -> list[Line]:
    """The transcript as the model sees it: every segment with text, its number, time and speaker."""
    itn = itn_enabled(transcript=transcript)
    return [Line(index=seg.index, start=seg.start, end=seg.end, speaker=transcript.speaker_label(seg.speaker),
                 text=" ".join(segment_shown(seg, itn=itn).split()))
            for seg in transcript.segments.order_by("index") if seg.text.strip()]


def lines_hash(lines: list[Line]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.render().encode("utf-8") + b"\n")
    return digest.hexdigest()


def insights_unavailable_reason(*, transcript: Transcript) -> str:
    """Why insights cannot be asked for now ("" when they can)."""
    if llm_config() is None:
        return _("Summaries and questions are off on this server.")
    if not transcript.job.project.team.llm_allowed:
        return _("The team's owner does not allow sending its transcripts to the language model.")
    return ""


@dataclass
class InsightView:
    insight: Insight
    stale: bool
    kept: bool  # the one the transcript was approved with


def _latest_per_kind(transcript: Transcript) -> list[Insight]:
    """The newest insight of each kind (and template); for an approved transcript, the newest
    that finished before approval where there is one."""
    rows = list(Insight.objects.filter(transcript=transcript).select_related("template").order_by("-created_at"))
    chosen: dict[tuple[str, str], Insight] = {}
    for row in rows:
        key = (row.kind, str(row.template_id or row.template_name))
        if key not in chosen:
            chosen[key] = row
    if transcript.approved_at:
        for row in rows:
            key = (row.kind, str(row.template_id or row.template_name))
            if row.status == LlmStatus.SUCCEEDED and row.finished_at and row.finished_at <= transcript.approved_at:
                current = chosen[key]
                if not (current.status == LlmStatus.SUCCEEDED and current.finished_at
                        and current.finished_at <= transcript.approved_at):
                    chosen[key] = row
    order = {kind: n for n, kind in enumerate(InsightKind.values)}
    return sorted(chosen.values(), key=lambda r: (order.get(r.kind, 99), r.template_name))


def approved_with(*, transcript: Transcript, kind: str, template_id: object = None) -> Insight | None:
    """The succeeded insight of this kind an approved transcript keeps."""
    if not transcript.approved_at:
        return None
    return (Insight.objects.filter(transcript=transcript, kind=kind, template_id=template_id,
                                   status=LlmStatus.SUCCEEDED, finished_at__lte=transcript.approved_at)
            .order_by("-finished_at").first())


def insights_for_transcript(*, transcript: Transcript) -> list[InsightView]:
    current = lines_hash(transcript_lines(transcript=transcript))
    views = []
    for row in _latest_per_kind(transcript):
        kept = bool(transcript.approved_at and row.status == LlmStatus.SUCCEEDED and row.finished_at
                    and row.finished_at <= transcript.approved_at)
        stale = row.status == LlmStatus.SUCCEEDED and bool(row.source_hash) and row.source_hash != current
        views.append(InsightView(insight=row, stale=stale, kept=kept))
    return views


def insight_for_export(*, transcript: Transcript, kind: str) -> Insight | None:
    """The succeeded insight of a built-in kind the exports carry."""
    for view in insights_for_transcript(transcript=transcript):
        if view.insight.kind == kind and view.insight.status == LlmStatus.SUCCEEDED:
            return view.insight
    return None


def questions_for_transcript(*, transcript: Transcript, limit: int = 10) -> list[Question]:
    return list(Question.objects.filter(transcript=transcript).select_related("created_by")[:limit])


def any_running(*, transcript: Transcript) -> bool:
    active = llm_states.q_active()
    return (Insight.objects.filter(active, transcript=transcript).exists()
            or Question.objects.filter(active, transcript=transcript).exists())


def month_start(when: datetime | None = None) -> datetime:
    when = timezone.localtime(when or timezone.now())
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)


@dataclass
class Usage:
    month: datetime
    prompt_tokens: int
    completion_tokens: int
    budget: int  # 0: none

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def percent(self) -> int:
        return int(self.total * 100 / self.budget) if self.budget else 0

    @property
    def warn(self) -> bool:
        return bool(self.budget) and self.percent >= 80

    @property
    def exhausted(self) -> bool:
        return bool(self.budget) and self.total >= self.budget


def llm_usage_for_team(*, team: Team | object, month: datetime | None = None) -> Usage:
    """Prompt and completion tokens the team's requests used in the month (local time)."""
    start = month_start(month)
    team_id = getattr(team, "pk", team)
    total = {"prompt_tokens": 0, "completion_tokens": 0}
    for model in (Insight, Question):
        sums = model.objects.filter(transcript__job__project__team_id=team_id, created_at__gte=start,
                                    created_at__lt=_next_month(start)).aggregate(
            p=Sum("prompt_tokens"), c=Sum("completion_tokens"))
        total["prompt_tokens"] += sums["p"] or 0
        total["completion_tokens"] += sums["c"] or 0
    return Usage(month=start, budget=settings.LLM_TEAM_MONTHLY_TOKENS, **total)


def llm_usage_by_team(*, month: datetime | None = None) -> list[tuple[str, Usage]]:
    """Every team that used the model this month, most tokens first (the ops page)."""
    start = month_start(month)
    team_ids: set[object] = set()
    for model in (Insight, Question):
        team_ids |= set(model.objects.filter(created_at__gte=start, created_at__lt=_next_month(start))
                        .values_list("transcript__job__project__team_id", flat=True))
    names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    rows = [(names.get(pk, "?"), llm_usage_for_team(team=pk, month=start)) for pk in team_ids]
    return sorted(rows, key=lambda row: -row[1].total)


def llm_staff_hint() -> list[str]:
    """The settings staff must set to turn the feature on."""
    return llm_missing_settings()
