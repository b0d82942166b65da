"""The rows of the job tables (My queue, a project's jobs), rendered in Python.

These tables are what every person watching their queue polls every two seconds, so a row is the
hottest piece of HTML in the portal: as a template include it cost ~0.4 ms a row (about half of a
queue page's CPU), as format_html about a tenth of that. What a row may offer still comes from the
job's own predicates and job_states; this module only writes it down.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from transcription import job_states
from transcription.job_states import JobStatus
from transcription.text import clock

register = template.Library()

_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@register.filter
def eta_left(moment: datetime | None) -> str:
    """"≈ 5 minutes left" for a job's ETA ("under a minute left" when it is that close)."""
    if moment is None:
        return ""
    if (moment - timezone.now()).total_seconds() < 60:
        return _("under a minute left")
    return _("≈ %(eta)s left") % {"eta": timeuntil(moment)}


class _Table:
    """What every row of one table shares: URL patterns reversed once (a row fills in its id), the
    labels translated once, the CSRF field, the person's staff flag and where forms return to."""

    def __init__(self, *, csrf_token: str, staff: bool, next_url: str) -> None:
        self._patterns: dict[str, str] = {}
        self._dates: dict[datetime, str] = {}
        self._statuses = {value: _e(label) for value, label in JobStatus.choices}
        self._to_the_minute = not any(c in get_format("SHORT_DATETIME_FORMAT") for c in "sucrU")
        self.staff = staff
        self.csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">'
        self.next = f'<input type="hidden" name="next" value="{_e(next_url)}">'
        self.label = {key: _e(text) for key, text in {
            "stopping": _("Stopping…"), "stops": _("Stops at the next segment; the worker confirms it."),
            "progress": _("Progress"), "open": _("Open transcript"), "position": _("Position in the queue"),
            "urgent": _("urgent"), "cancel": _("Cancel"), "retry": _("Retry")}.items()}

    def url(self, name: str, pk: object) -> str:
        if name not in self._patterns:
            self._patterns[name] = _e(reverse(name, args=[_PLACEHOLDER]))
        return self._patterns[name].replace(_PLACEHOLDER, _e(pk))

    def status(self, job: Any) -> str:
        return self._statuses.get(job.status) or _e(job.get_status_display())

    def short(self, moment: datetime) -> str:
        """SHORT_DATETIME_FORMAT; rows uploaded in the same minute share one formatting."""
        if self._to_the_minute:
            moment = moment.replace(second=0, microsecond=0)
        if moment not in self._dates:
            self._dates[moment] = _e(date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT"))
        return self._dates[moment]


def _e(value: object) -> str:
    """Django's escape without its lazy-string wrapper (same output)."""
    return html.escape(str(value))


def _file_cell(job: Any, show_project: bool, t: _Table) -> str:
    project = f' · <a href="{t.url("project", job.project_id)}">{_e(job.project.name)}</a>' if show_project else ""
    error = ""
    if job.error and not job.is_succeeded:
        error = f'<br><small class="{"danger" if job.is_failed else "muted"}">{_e(job.error)}</small>'
    return (f'<td class="job-file">\n    <a href="{t.url("job", job.pk)}">{_e(job.media.original_name)}</a>\n'
            f'    <br><small class="muted">{_e(clock(job.media.duration or 0))}{project}</small>\n    {error}\n  </td>')


def _status_cell(job: Any, t: _Table) -> str:
    if job.is_stopping:
        badge = f'<span class="badge badge-running" title="{t.label["stops"]}">{t.label["stopping"]}</span>'
    else:
        badge = f'<span class="badge badge-{_e(job.status)}">{t.status(job)}</span>'
    stage = ""
    if job.is_running and not job.is_stopping and job.stage_label:
        stage = f'<br><small class="muted">{_e(job.stage_label)}</small>'
    return f"<td>{badge}\n    {stage}\n  </td>"


def _progress_cell(job: Any, t: _Table) -> str:
    inner = ""
    if job.is_running:
        percent = _e(floatformat(job.progress, 0))
        inner = (f'<progress value="{percent}" max="100" aria-label="{t.label["progress"]}"></progress> '
                 f"<small>{percent}%</small>")
    elif job.is_succeeded and (transcript := getattr(job, "transcript", None)):  # None raises AttributeError
        inner = f'<a href="{t.url("transcript", transcript.pk)}">{t.label["open"]}</a>'
    return f"<td>\n    {inner}\n  </td>"


def _queue_cell(job: Any, t: _Table) -> str:
    position = getattr(job, "queue_position", None)
    eta = getattr(job, "eta", None)
    place = f'<span title="{t.label["position"]}">#{_e(position)}</span>' if position else ""
    urgent = f' <span class="badge badge-urgent">{t.label["urgent"]}</span>' if job.urgent else ""
    when = f'<br><small class="muted" title="{t.short(eta)}">{_e(eta_left(eta))}</small>' if eta else ""
    return f"<td>\n    {place}{urgent}\n    {when}\n  </td>"


def _actions_cell(job: Any, can_write: bool, t: _Table) -> str:
    form = ""
    if can_write and job.can_cancel:
        confirm = ""
        if job.is_running:
            question = _("Stop transcribing %(name)s? The work done on it so far is lost.") % {
                "name": job.media.original_name}
            confirm = f' data-confirm="{_e(question)}"'
        form = (f'<form method="post" action="{t.url("job_cancel", job.pk)}" class="inline"{confirm}>{t.csrf}{t.next}'
                f'<button type="submit" class="small secondary outline">{t.label["cancel"]}</button></form>')
    elif can_write and job_states.can_retry_as(job, staff=t.staff):
        form = (f'<form method="post" action="{t.url("job_retry", job.pk)}" class="inline">{t.csrf}{t.next}'
                f'<button type="submit" class="small secondary">{t.label["retry"]}</button></form>')
    return f'<td class="job-actions">\n    {form}\n  </td>'


@register.simple_tag(takes_context=True)
def job_rows(context: template.Context, jobs: Iterable[Any], *, show_project: bool,
             can_write: bool | None = None) -> SafeString:
    """One <tr> per job. ``can_write`` for the whole table, or each job's own ``can_write``."""
    t = _Table(csrf_token=get_token(context["request"]), staff=bool(getattr(context.get("user"), "is_staff", False)),
               next_url=context.get("next_url", ""))
    rows = []
    for job in jobs:
        writes = can_write if can_write is not None else bool(getattr(job, "can_write", False))
        rows.append(f'<tr id="job-{_e(job.pk)}">\n  {_file_cell(job, show_project, t)}\n  {_status_cell(job, t)}\n'
                    f"  {_progress_cell(job, t)}\n  {_queue_cell(job, t)}\n"
                    f'  <td class="wide-only"><small>{t.short(job.created_at)}</small></td>\n'
                    f"  {_actions_cell(job, writes, t)}\n</tr>\n")
    return mark_safe("".join(rows))  # every value above went through _e
