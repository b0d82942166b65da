"""Running insight and question requests: tasks on the outgoing queue (never an ASR worker, never a
web request), at most LLM_CONCURRENCY at once across the deployment (a lease per row,
``running_until``), recorded whole or failed with a readable message, never half-saved."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.outgoing import outgoing_enqueue
from transcription.llm.client import LlmError
from transcription.llm.config import LlmConfig, llm_config
from transcription.llm.reader import Unreadable
from transcription.llm.runner import Outcome, Usage, run
from transcription.llm.tokens import mostly_cjk
from transcription.models import Insight, LlmStatus, Question
from transcription.queries.insights import insights_unavailable_reason, lines_hash, transcript_lines

log = logging.getLogger(__name__)
MODELS: dict[str, type[Insight] | type[Question]] = {"insight": Insight, "question": Question}
MAX_RUNS = 3  # a request whose worker died this often fails instead of trying again
_LOCK_KEY = 7_240_024  # pg_advisory_xact_lock key for the deployment-wide concurrency count


def _lease_seconds(config: LlmConfig) -> float:
    # One call with every retry and its backoff, plus slack; renewed after each part.
    backoff = sum(config.retry_base * 4 ** n for n in range(config.max_attempts - 1))
    return config.timeout * config.max_attempts + backoff + 60


def _in_flight(now: datetime) -> int:
    return sum(m.objects.filter(status=LlmStatus.RUNNING, running_until__gt=now).count() for m in MODELS.values())


def _claim(model: type[Insight] | type[Question], pk: object, config: LlmConfig) -> bool:
    """queued → running if a slot is free (the count and the claim under one lock)."""
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        # SQLite: the transaction is IMMEDIATE (settings), so it already holds the write lock.
        if _in_flight(now) >= config.concurrency:
            return False
        return bool(model.objects.filter(pk=pk, status=LlmStatus.QUEUED).update(
            status=LlmStatus.RUNNING, started_at=now, runs=F("runs") + 1,
            running_until=now + timedelta(seconds=_lease_seconds(config))))


def llm_request_run(*, model: str, pk: object) -> None:
    """The outgoing task for one request; afterwards queued requests are given the freed slot."""
    try:
        _run(MODELS[model], pk)
    finally:
        llm_requests_dispatch()


def _run(model: type[Insight] | type[Question], pk: object) -> None:
    config = llm_config()
    row = model.objects.select_related("transcript__job__project__team", "template").filter(pk=pk).first() \
        if model is Insight else model.objects.select_related("transcript__job__project__team").filter(pk=pk).first()
    if row is None or row.status != LlmStatus.QUEUED:
        return
    reason = insights_unavailable_reason(transcript=row.transcript)
    if config is None or reason:
        model.objects.filter(pk=pk, status=LlmStatus.QUEUED).update(
            status=LlmStatus.FAILED, error=reason, finished_at=timezone.now())
        return
    if not _claim(model, pk, config):
        return  # no free slot: the dispatcher queues it again when one frees
    row.refresh_from_db()
    transcript = row.transcript
    lines = transcript_lines(transcript=transcript)
    language = row.language or _transcript_language(transcript)
    kind = row.kind if model is Insight else "question"
    instruction = row.question if model is Question else (row.template.prompt if row.template else "")
    if kind == "template" and not instruction:
        _fail(model, row, _("The template was deleted."), Usage())
        return

    def progress(done: int, parts: int, saved: dict[str, Any] | None) -> None:
        # The answered parts are kept, so a run taken over after this worker died resumes there.
        fields: dict[str, Any] = {"parts": parts, "parts_done": done,
                                  "running_until": timezone.now() + timedelta(seconds=_lease_seconds(config))}
        if saved is not None:
            fields["partials"] = saved
        model.objects.filter(pk=pk, status=LlmStatus.RUNNING, runs=row.runs).update(**fields)

    usage = Usage()
    try:
        outcome = run(config=config, kind=kind, lines=lines, language=language, instruction=instruction,
                      progress=progress, usage=usage, resume=row.partials or None)
    except (LlmError, Unreadable) as e:
        _fail(model, row, e.message, usage)
        return
    except Exception:
        log.exception("language-model request %s %s failed", kind, pk)
        _fail(model, row, _("Something went wrong while making this; try again."), usage)
        return
    _record(model, row, outcome, lines_hash(lines))


def _transcript_language(transcript: object) -> str:
    language = getattr(transcript, "language", "") or ""
    if language in ("zh", "yue") and not mostly_cjk(getattr(transcript, "text", "")[:2000]):
        return "en"  # an English recording through the Chinese model
    return language or ("zh" if mostly_cjk(getattr(transcript, "text", "")[:2000]) else "en")


def _record(model: type[Insight] | type[Question], row: Insight | Question, outcome: Outcome, source: str) -> None:
    usage = outcome.usage
    fields = {"status": LlmStatus.SUCCEEDED, "finished_at": timezone.now(), "running_until": None,
              "references": outcome.references, "removed_references": min(outcome.removed, 32767),
              "parts": outcome.parts, "parts_done": outcome.parts, "model": usage.model[:200], "error": "",
              "source_hash": source, "partials": {}}
    if model is Insight:
        fields["content"] = outcome.content
    else:
        fields["answer"] = str(outcome.content)
    with transaction.atomic():
        model.objects.filter(pk=row.pk).update(prompt_tokens=F("prompt_tokens") + usage.prompt_tokens,
                                               completion_tokens=F("completion_tokens") + usage.completion_tokens)
        # Cancelled meanwhile (or taken over after a lost lease): the answer is not saved.
        model.objects.filter(pk=row.pk, status=LlmStatus.RUNNING, runs=row.runs).update(**fields)


def _fail(model: type[Insight] | type[Question], row: Insight | Question, message: str, usage: Usage) -> None:
    """Nothing of the answer is kept; the tokens the calls used are."""
    with transaction.atomic():
        model.objects.filter(pk=row.pk).update(prompt_tokens=F("prompt_tokens") + usage.prompt_tokens,
                                               completion_tokens=F("completion_tokens") + usage.completion_tokens)
        model.objects.filter(pk=row.pk, status=LlmStatus.RUNNING, runs=row.runs).update(
            status=LlmStatus.FAILED, error=message[:2000], finished_at=timezone.now(), running_until=None,
            model=usage.model[:200], partials={})


def llm_requests_dispatch(*, limit: int = 100) -> int:
    """Requeue requests whose worker died (lease passed), fail those that died too often, and queue
    a task for queued requests, as many as there are free slots. A duplicate task finds its request
    taken or done and returns."""
    config = llm_config()
    now = timezone.now()
    for model in MODELS.values():
        lost = model.objects.filter(status=LlmStatus.RUNNING, running_until__lte=now)
        lost.filter(runs__gte=MAX_RUNS).update(status=LlmStatus.FAILED, finished_at=now, running_until=None,
                                               error=_("The language-model request did not finish; try again."))
        lost.filter(runs__lt=MAX_RUNS).update(status=LlmStatus.QUEUED, running_until=None)
    if config is None:
        return 0
    free = config.concurrency - _in_flight(now)
    queued: list[tuple[str, object]] = []
    for name, model in MODELS.items():
        for pk in model.objects.filter(status=LlmStatus.QUEUED).order_by("created_at").values_list("pk", flat=True)[
                :max(0, min(free, limit))]:
            queued.append((name, pk))
    queued = queued[:max(0, free)]
    if queued:
        transaction.on_commit(lambda: [outgoing_enqueue("transcription.tasks.run_llm_request", name, pk,
                                                        task_name=f"llm-{name}") for name, pk in queued], robust=True)
    return len(queued)
