"""Searching every transcript a user can see. A query written in simplified
Chinese also finds traditional text and the other way round."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from portal.access import User
from portal.inputs import text_check
from transcription.access import transcripts_for_user
from transcription.models import Segment, Transcript
from transcription.services.itn import itn_enabled, segment_shown
from transcription.text import to_simplified, to_traditional

MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 160


@dataclass
class SearchHit:
    segment: Segment
    snippet: SafeString
    speaker_name: str


@dataclass
class SearchGroup:
    transcript: Transcript
    hits: list[SearchHit] = field(default_factory=list)
    name_matches: bool = False


@dataclass
class SearchResults:
    query: str
    groups: list[SearchGroup]
    total: int  # matching segments, including those beyond the limit
    truncated: bool


def query_terms(query: str) -> list[list[str]]:
    """Whitespace-separated terms, each with its simplified and traditional
    spellings. Every term must match; any spelling of a term will do."""
    terms = []
    for term in query.split()[:10]:
        variants = {term, to_simplified(term), to_traditional(term)}
        terms.append(sorted(variants, key=len, reverse=True))
    return terms


def highlight(text: str, terms: list[list[str]], *, snippet: int | None = SNIPPET_CHARS) -> SafeString:
    """HTML of ``text`` with every match wrapped in <mark>, cut to a window
    around the first match when ``snippet`` is set."""
    words = [re.escape(v) for variants in terms for v in variants if v]
    if not words:
        return escape(text)
    pattern = re.compile("|".join(sorted(set(words), key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    prefix = suffix = ""
    if snippet and len(text) > snippet and first:
        start = max(0, first.start() - snippet // 3)
        end = min(len(text), start + snippet)
        start = max(0, end - snippet)
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(text) else ""
        text = text[start:end]
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe(prefix + "".join(out) + suffix)  # noqa: S308 - every piece is escaped above


def transcripts_search(*, user: User, query: str, limit: int = 200) -> SearchResults:
    """Segments (and file names) matching ``query`` in the user's teams,
    newest transcript first, grouped by transcript."""
    query = " ".join(text_check(query).split())[:MAX_QUERY_CHARS]
    terms = query_terms(query)
    if not terms:
        return SearchResults(query=query, groups=[], total=0, truncated=False)
    visible = transcripts_for_user(user)
    segment_filter = Q()
    name_filter = Q()
    for variants in terms:
        any_text = Q()
        any_name = Q()
        for variant in variants:
            # Numbers match as spoken or as digits ("二零二四" or "2024").
            any_text |= Q(text__icontains=variant) | Q(text_itn__icontains=variant)
            any_name |= Q(job__media__original_name__icontains=variant)
        segment_filter &= any_text
        name_filter &= any_name
    segments = (
        Segment.objects.filter(segment_filter, transcript__in=visible.values("pk"))
        .select_related("transcript__job__media", "transcript__job__project__team")
        .order_by("-transcript__created_at", "transcript_id", "index")
    )
    total = segments.count()
    groups: dict[object, SearchGroup] = {}
    digits: dict[object, bool] = {}
    for segment in segments[:limit]:
        group = groups.setdefault(segment.transcript_id, SearchGroup(transcript=segment.transcript))
        speaker = segment.transcript.speaker_label(segment.speaker) if segment.speaker else ""
        if segment.transcript_id not in digits:
            digits[segment.transcript_id] = itn_enabled(transcript=segment.transcript)
        shown = segment_shown(segment, itn=digits[segment.transcript_id])
        group.hits.append(SearchHit(segment=segment, snippet=highlight(shown, terms), speaker_name=speaker))
    by_name = (
        visible.filter(name_filter)
        .select_related("job__media", "job__project__team")
        .order_by("-created_at")[:50]
    )
    for transcript in by_name:
        group = groups.get(transcript.pk)
        if group is None:
            group = groups[transcript.pk] = SearchGroup(transcript=transcript)
        group.name_matches = True
    ordered = sorted(groups.values(), key=lambda g: g.transcript.created_at, reverse=True)
    return SearchResults(query=query, groups=ordered, total=total, truncated=total > limit)
