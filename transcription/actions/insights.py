"""Asking the language model for insights and answers about a transcript, cancelling and retrying
them, and a project's insight templates. Members and above may; viewers get 403, outsiders 404.
The model is called later, by a task on the outgoing queue (actions/insight_runs.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Conflict, Invalid, NotAllowed, NotFound
from portal.inputs import text_check
from portal.models import AuditAction, Membership, Project
from portal.outgoing import outgoing_enqueue
from portal.services.audit import audit_record
from transcription import llm_states
from transcription.llm.prompts import LANGUAGE_NAMES
from transcription.models import Insight, InsightKind, InsightTemplate, LlmStatus, Question, Transcript
from transcription.queries.insights import approved_with, insights_unavailable_reason, llm_usage_for_team

RUN_TASK = "transcription.tasks.run_llm_request"
MAX_QUESTION_CHARS = 1000


def _check_member(actor: Actor, team_id: object, *, manage: bool = False) -> None:
    """Members and above may ask; viewers 403; anyone outside the team 404."""
    membership = Membership.objects.filter(team_id=team_id, user_id=getattr(actor.user, "pk", None)).first()
    if membership is None:
        raise NotFound()
    if manage and not membership.can_manage:
        raise NotAllowed(_("Only team owners and admins can do this."))
    if not membership.can_write:
        raise NotAllowed(_("Viewers can read but not change anything."))


def _check_available(transcript: Transcript) -> None:
    reason = insights_unavailable_reason(transcript=transcript)
    if reason:
        raise Conflict(reason)
    usage = llm_usage_for_team(team=transcript.job.project.team_id)
    if usage.exhausted:
        raise Conflict(_("Your team has used its language-model budget for this month (%(total)s of %(budget)s "
                         "tokens). It starts again next month; an administrator can raise it.")
                       % {"total": f"{usage.total:,}", "budget": f"{usage.budget:,}"})


def _check_language(language: str) -> str:
    language = (language or "").strip().lower()
    if language and language not in LANGUAGE_NAMES:
        raise Invalid(_("Unknown language “%(language)s”.") % {"language": language[:16]})
    return language


def _enqueue(model: str, pk: object) -> None:
    transaction.on_commit(lambda: outgoing_enqueue(RUN_TASK, model, pk, task_name=f"llm-{model}"), robust=True)


def _lock(transcript: Transcript) -> Transcript:
    """One request at a time per transcript and kind: the transcript's row is the lock."""
    return Transcript.objects.select_for_update().get(pk=transcript.pk)


def insight_request(*, actor: Actor, transcript: Transcript, kind: str, template: object = None,
                    language: str = "") -> Insight:
    _check_member(actor, transcript.job.project.team_id)
    if kind not in InsightKind.values:
        raise Invalid(_("Unknown kind “%(kind)s”: choose one of %(kinds)s.")
                      % {"kind": str(kind)[:32], "kinds": ", ".join(InsightKind.values)})
    chosen = None
    if kind == InsightKind.TEMPLATE:
        chosen = _template_of(transcript.job.project, template)
    language = _check_language(language)
    _check_available(transcript)
    with transaction.atomic():
        _lock(transcript)
        active = Insight.objects.filter(llm_states.q_active(), transcript=transcript, kind=kind,
                                        template=chosen).exists()
        if active:
            raise Conflict(_("This is already being made for this transcript; wait for it or cancel it."))
        if approved_with(transcript=transcript, kind=kind, template_id=getattr(chosen, "pk", None)):
            raise Conflict(_("This transcript is approved and keeps what it was approved with; reopen it to make "
                             "a new one."))
        insight = Insight.objects.create(transcript=transcript, kind=kind, template=chosen,
                                         template_name=chosen.name if chosen else "", language=language,
                                         created_by=actor.user)
        audit_record(actor=actor, action=AuditAction.INSIGHT_REQUEST, team=transcript.job.project.team,
                     obj=transcript, detail={"kind": kind, **({"template": chosen.name} if chosen else {})})
        _enqueue("insight", insight.pk)
    return insight


def _template_of(project: Project, template: object) -> InsightTemplate:
    if isinstance(template, InsightTemplate):
        template = template.pk
    try:
        found = InsightTemplate.objects.filter(project=project, pk=int(str(template))).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise Invalid(_("Choose one of the project's templates."))
    return found


def question_ask(*, actor: Actor, transcript: Transcript, question: str, language: str = "") -> Question:
    _check_member(actor, transcript.job.project.team_id)
    question = " ".join(text_check(question or "").split())
    if not question:
        raise Invalid(_("Write a question."))
    if len(question) > MAX_QUESTION_CHARS:
        raise Invalid(_("A question can be at most %(count)d characters.") % {"count": MAX_QUESTION_CHARS})
    language = _check_language(language)
    _check_available(transcript)
    with transaction.atomic():
        row = Question.objects.create(transcript=transcript, question=question, language=language,
                                      created_by=actor.user)
        audit_record(actor=actor, action=AuditAction.QUESTION_ASK, team=transcript.job.project.team,
                     obj=transcript, detail={"question": question[:200]})
        _enqueue("question", row.pk)
    return row


def llm_request_cancel(*, actor: Actor, row: Insight | Question) -> Insight | Question:
    """Queued: it never runs. Running: its answer is thrown away when it comes (tokens still count)."""
    _check_member(actor, row.transcript.job.project.team_id)
    done = type(row).objects.filter(llm_states.q_active(), pk=row.pk).update(
        status=LlmStatus.CANCELLED, finished_at=timezone.now(), running_until=None)
    if not done:
        raise Conflict(_("It has already finished."))
    audit_record(actor=actor, action=AuditAction.INSIGHT_CANCEL, team=row.transcript.job.project.team,
                 obj=row.transcript, detail={"kind": getattr(row, "kind", "question")})
    row.refresh_from_db()
    return row


def llm_request_retry(*, actor: Actor, row: Insight | Question) -> Insight | Question:
    """A failed or cancelled request, queued again as it was."""
    _check_member(actor, row.transcript.job.project.team_id)
    _check_available(row.transcript)
    model = "insight" if isinstance(row, Insight) else "question"
    with transaction.atomic():
        _lock(row.transcript)
        if isinstance(row, Insight) and Insight.objects.filter(
                llm_states.q_active(), transcript=row.transcript_id, kind=row.kind,
                template=row.template_id).exclude(pk=row.pk).exists():
            raise Conflict(_("This is already being made for this transcript; wait for it or cancel it."))
        if isinstance(row, Insight) and approved_with(transcript=row.transcript, kind=row.kind,
                                                      template_id=row.template_id):
            raise Conflict(_("This transcript is approved and keeps what it was approved with; reopen it to make "
                             "a new one."))
        done = type(row).objects.filter(llm_states.q_retryable(), pk=row.pk).update(
            status=LlmStatus.QUEUED, error="", finished_at=None, started_at=None, running_until=None, runs=0,
            parts=0, parts_done=0, partials={})
        if not done:
            raise Conflict(_("Only a failed or cancelled request can be retried."))
        audit_record(actor=actor, action=AuditAction.INSIGHT_REQUEST, team=row.transcript.job.project.team,
                     obj=row.transcript, detail={"kind": getattr(row, "kind", "question"), "retry": True})
        _enqueue(model, row.pk)
    row.refresh_from_db()
    return row


def _clean_template(name: str, prompt: str) -> tuple[str, str]:
    name = " ".join(text_check(name or "").split())
    prompt = text_check(prompt or "").strip()
    if not name or not prompt:
        raise Invalid(_("A template needs a name and a prompt."))
    if len(name) > 80 or len(prompt) > 4000:
        raise Invalid(_("A template's name can be at most 80 characters and its prompt 4000."))
    return name, prompt


def insight_template_create(*, actor: Actor, project: Project, name: str, prompt: str) -> InsightTemplate:
    _check_member(actor, project.team_id, manage=True)
    name, prompt = _clean_template(name, prompt)
    if InsightTemplate.objects.filter(project=project, name=name).exists():
        raise Invalid(_("The project already has a template with this name."))
    template = InsightTemplate.objects.create(project=project, name=name, prompt=prompt, created_by=actor.user)
    audit_record(actor=actor, action=AuditAction.INSIGHT_TEMPLATE, team=project.team, obj=template,
                 detail={"op": "create"})
    return template


def insight_template_update(*, actor: Actor, template: InsightTemplate, name: str, prompt: str) -> InsightTemplate:
    _check_member(actor, template.project.team_id, manage=True)
    name, prompt = _clean_template(name, prompt)
    if InsightTemplate.objects.filter(project=template.project_id, name=name).exclude(pk=template.pk).exists():
        raise Invalid(_("The project already has a template with this name."))
    InsightTemplate.objects.filter(pk=template.pk).update(name=name, prompt=prompt)
    template.name, template.prompt = name, prompt
    audit_record(actor=actor, action=AuditAction.INSIGHT_TEMPLATE, team=template.project.team, obj=template,
                 detail={"op": "update"})
    return template


def insight_template_delete(*, actor: Actor, template: InsightTemplate) -> None:
    _check_member(actor, template.project.team_id, manage=True)
    audit_record(actor=actor, action=AuditAction.INSIGHT_TEMPLATE, team=template.project.team, obj=template,
                 detail={"op": "delete"})
    template.delete()
