"""A project's glossary: find & replace across one transcript or a whole
project (previewed, applied as revisions so each change can be undone,
refused on approved transcripts), and hotword suggestions learnt from the
corrections people make.

Find & replace works on the text as the page shows it (numbers as digits
where the project has them), like an edit does.
"""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from dataclasses import dataclass, field

import jieba
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Invalid
from portal.inputs import text_check
from portal.models import AuditAction, Project
from portal.services.audit import audit_record
from transcription.models import Revision, Segment, Transcript
from transcription.services.itn import itn_enabled, segment_shown
from transcription.services.job_options import hotwords_check, hotwords_parse
from transcription.services.review import segment_replace_text
from transcription.text import is_cjk

MAX_FIND_CHARS = 200
PREVIEW_LIMIT = 500
SUGGEST_MIN_COUNT = 2
SUGGEST_REVISIONS = 5000
# A correction longer than this rewrote a sentence, not a term: nothing to learn or offer.
MAX_TERM_CHARS = 16
MAX_TERM_WORDS = 4


@dataclass
class Hit:
    transcript: Transcript
    segment: Segment
    before: SafeString  # the shown text with the matches marked
    after: SafeString


@dataclass
class Preview:
    find: str
    replace: str
    hits: list[Hit] = field(default_factory=list)
    locked: list[Transcript] = field(default_factory=list)  # approved: left alone
    truncated: bool = False


def _checked(find: str, replace: str) -> tuple[str, str]:
    find, replace = text_check((find or "").strip()), text_check((replace or "").strip())
    if not find:
        raise Invalid(_("Enter the text to find."))
    if len(find) > MAX_FIND_CHARS or len(replace) > MAX_FIND_CHARS:
        raise Invalid(_("Find and replace take at most %(n)d characters.") % {"n": MAX_FIND_CHARS})
    if find == replace:
        raise Invalid(_("The replacement is the same as the text to find."))
    return find, replace


def _marked(text: str, needle: str, tag: str) -> SafeString:
    return mark_safe(f"<{tag}>{escape(needle)}</{tag}>".join(escape(part) for part in text.split(needle)))  # noqa: S308


def replace_preview(*, transcripts: QuerySet[Transcript], find: str, replace: str) -> Preview:
    """Every segment where ``find`` occurs, with its text before and after."""
    find, replace = _checked(find, replace)
    preview = Preview(find=find, replace=replace)
    digits: dict[object, bool] = {}
    segments = Segment.objects.filter(Q(text__contains=find) | Q(text_itn__contains=find),
                                      transcript__in=transcripts.values("pk"))
    segments = segments.select_related("transcript__job__media", "transcript__job__project").order_by(
        "transcript__job__media__original_name", "transcript_id", "index")
    locked: dict[object, Transcript] = {}
    for segment in segments:
        transcript = segment.transcript
        if transcript.pk not in digits:
            digits[transcript.pk] = itn_enabled(transcript=transcript)
        shown = segment_shown(segment, itn=digits[transcript.pk])
        if find not in shown:
            continue
        if transcript.is_approved:
            locked[transcript.pk] = transcript
            continue
        if len(preview.hits) >= PREVIEW_LIMIT:
            preview.truncated = True
            break
        preview.hits.append(Hit(transcript, segment, _marked(shown, find, "mark"),
                                _marked(shown.replace(find, replace), replace, "ins")))
    preview.locked = list(locked.values())
    return preview


@dataclass
@dataclass
class ReplaceResult:
    segments: int = 0
    transcripts: int = 0
    locked: int = 0


def replace_apply(*, actor: Actor, transcripts: QuerySet[Transcript], find: str, replace: str) -> ReplaceResult:
    """Replace ``find`` everywhere the preview showed it, one revision per
    segment; approved transcripts are left alone and counted."""
    preview = replace_preview(transcripts=transcripts, find=find, replace=replace)
    result = ReplaceResult(locked=len(preview.locked))
    by_transcript: dict[object, list[Hit]] = {}
    for hit in preview.hits:
        by_transcript.setdefault(hit.transcript.pk, []).append(hit)
    for hits in by_transcript.values():
        transcript = hits[0].transcript
        with transaction.atomic():
            changed = 0
            for hit in hits:
                if segment_replace_text(actor=actor, transcript=transcript, index=hit.segment.index,
                                        find=preview.find, replace=preview.replace):
                    changed += 1
            if changed:
                audit_record(actor=actor, action=AuditAction.TRANSCRIPT_REPLACE, team=transcript.job.project.team,
                             obj=transcript, detail={"find": preview.find, "replace": preview.replace,
                                                     "segments": changed})
        result.segments += changed
        result.transcripts += 1 if changed else 0
    return result


# --- learning from corrections ----------------------------------------------------------------

def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a changed span to whole Latin words (a fix of "Parafomer" is "Paraformer")."""
    while start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isascii() and text[end].isalnum():
        end += 1
    return start, end


def _widen_cjk(before: str, after: str, i1: int, i2: int, j1: int, j2: int) -> tuple[int, int, int, int]:
    """Grow a change in Chinese text to the whole words around it (张经理 → 王经理, not 张 → 王):
    the words of the new text, found by jieba, and the same context on the old side."""
    jieba.setLogLevel(logging.WARNING)  # its dictionary loads on first use: only edits touching Chinese pay for it
    for _word, start, end in jieba.tokenize(after):
        if start < j1 < end or (start == j1 and end > j1):
            i1, j1 = i1 - (j1 - start), start
        if start < j2 < end:
            i2, j2 = i2 + (end - j2), end
    return max(i1, 0), i2, j1, j2


def correction_of(before: str, after: str) -> tuple[str, str] | None:
    """The one term an edit replaced, as (old, new); None when the edit changed
    several places, only removed text, or rewrote more than a term."""
    changes = [op for op in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes()
               if op[0] != "equal"]
    if len(changes) != 1:
        return None
    _tag, i1, i2, j1, j2 = changes[0]
    if any(is_cjk(c) for c in after[j1:j2] + before[i1:i2]):
        i1, i2, j1, j2 = _widen_cjk(before, after, i1, i2, j1, j2)
    i1, i2 = _widen(before, i1, i2)
    j1, j2 = _widen(after, j1, j2)
    old, new = before[i1:i2].strip(), after[j1:j2].strip()
    if not new or old == new or len(new) > MAX_TERM_CHARS or len(new.split()) > MAX_TERM_WORDS:
        return None
    return old, new


@dataclass
class Suggestion:
    word: str
    count: int
    replaced: list[str]  # what people replaced with it


def glossary_suggestions(*, project: Project) -> list[Suggestion]:
    """Phrases people put in by correcting transcripts two or more times,
    that are not hotwords yet; most frequent first."""
    revisions = (Revision.objects.filter(transcript__job__project=project, restored_from__isnull=True)
                 .order_by("-created_at").values_list("before", "after")[:SUGGEST_REVISIONS])
    counts: Counter[str] = Counter()
    replaced: dict[str, Counter[str]] = {}
    for before, after in revisions:
        pair = correction_of(before, after)
        if pair is None:
            continue
        old, new = pair
        counts[new] += 1
        replaced.setdefault(new, Counter())[old] += 1
    known = set(project.hotwords or [])
    return [Suggestion(word, n, [old for old, _n in replaced[word].most_common(3) if old])
            for word, n in counts.most_common() if n >= SUGGEST_MIN_COUNT and word not in known]


def project_hotwords_add(*, actor: Actor, project: Project, words: str) -> list[str]:
    """Add hotwords to the project (new jobs use them); returns those added.
    The project's hotwords with these must obey the hotword rule (Invalid)."""
    new = [w for w in hotwords_parse(text=words) if w not in (project.hotwords or [])]
    if not new:
        return []
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        new = [w for w in new if w not in (project.hotwords or [])]
        project.hotwords = hotwords_check([*(project.hotwords or []), *new])
        project.save(update_fields=["hotwords"])
        audit_record(actor=actor, action=AuditAction.PROJECT_HOTWORDS, team=project.team, obj=project,
                     detail={"added": new, "removed": []})
    return new
