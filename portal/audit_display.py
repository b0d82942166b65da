"""The audit log's details in words: an entry's ``detail`` is stored as the
service wrote it (``{"timestamps": False, "format": "docx"}``); the log page
shows "DOCX · without timestamps". Unknown keys still show, as "key: value"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.models import Role
from transcription.models import ReviewStatus

_VIA = {"api": lambda: _("through the API"), "admin": lambda: _("in the admin"),
        "worker": lambda: _("by a worker"), "system": lambda: _("by the system")}
_HIDDEN = {"export"}  # ids nobody reading the log can use


def _label(value: Any) -> str:
    """A role or review status by its name in the reader's language; anything else as it is."""
    text = str(value)
    for choices in (Role, ReviewStatus):
        if text in choices.values:
            return str(choices(text).label)
    return text


def _yes_no(yes: Callable[[], str], no: Callable[[], str]) -> Callable[[Any], str]:
    return lambda value: yes() if value else no()


_PHRASES: dict[str, Callable[[Any], str | None]] = {
    "format": lambda v: str(v).upper(),
    "timestamps": _yes_no(lambda: _("with timestamps"), lambda: _("without timestamps")),
    "speakers": lambda v: (_("with speakers") if v else _("without speakers")) if isinstance(v, bool) else None,
    "chinese": lambda v: {"simplified": _("in Simplified Chinese"),
                          "traditional": _("in Traditional Chinese")}.get(v) if v else None,
    "punctuation": lambda v: {"full": _("full-width punctuation"), "half": _("half-width punctuation")}.get(v)
    if v else None,
    "itn": lambda v: None if v is None else (_("numbers as digits") if v else _("numbers as spoken")),
    "max_chars": lambda v: _("lines of at most %(n)d characters") % {"n": int(v)} if v else None,
    "transcripts": lambda v: ngettext("%(n)d transcript", "%(n)d transcripts", int(v)) % {"n": int(v)},
    "media": lambda v: ngettext("%(n)d file", "%(n)d files", int(v)) % {"n": int(v)},
    "projects": lambda v: ngettext("%(n)d project", "%(n)d projects", int(v)) % {"n": int(v)},
    "days": lambda v: ngettext("link valid for %(n)d day", "link valid for %(n)d days", int(v)) % {"n": int(v)},
    "role": lambda v: _("role: %(role)s") % {"role": _label(v)},
    "download": _yes_no(lambda: _("downloaded"), lambda: _("played in the page")),
    "allow_urgent": _yes_no(lambda: _("members may mark uploads urgent"),
                            lambda: _("members may not mark uploads urgent")),
    "review_second_person": _yes_no(lambda: _("a second person approves transcripts"),
                                    lambda: _("whoever submits a transcript may approve it")),
    "reviewer": lambda v: _("review asked of %(name)s") % {"name": v},
    "active": _yes_no(lambda: _("resumed"), lambda: _("paused")),
    "account_deleted": lambda v: _("the account was deleted") if v else None,
    "new_account": lambda v: _("with a new account") if v else None,
    "already_member": lambda v: _("was already a member") if v else None,
    "replaced": lambda v: _("replaced by a new invitation") if v else None,
    "added": lambda v: _("added: %(items)s") % {"items": ", ".join(map(str, v))} if v else None,
    "removed": lambda v: _("removed: %(items)s") % {"items": ", ".join(map(str, v))} if v else None,
    "speaker": lambda v: _("speaker %(name)s") % {"name": v},
    "username": lambda v: _("username: %(name)s") % {"name": v or "?"},
    "ip": lambda v: _("address: %(ip)s") % {"ip": v or "?"},
    "via": lambda v: _VIA[v]() if v in _VIA else str(v),
    "files": lambda v: ", ".join(map(str, v)) if v else None,
    "jobs": lambda v: ngettext("%(n)d job", "%(n)d jobs", int(v)) % {"n": int(v)},
    # In the form's order (PostgreSQL's jsonb does not keep the order the keys were written in).
    "changed": lambda v: "; ".join(f"{_FIELDS[k]() if k in _FIELDS else k}: {_label(v[k]['from'])} → "
                                   f"{_label(v[k]['to'])}" for k in sorted(v, key=_field_order)) if v else None,
}


# Project settings, as the project form names them.
_FIELDS = {"name": lambda: _("name"), "preset": lambda: _("model preset"), "speakers": lambda: _("speakers"),
           "itn": lambda: _("numbers as digits")}


def _field_order(key: str) -> tuple[int, str]:
    return (list(_FIELDS).index(key) if key in _FIELDS else len(_FIELDS), key)


def _plain(key: str, value: Any) -> str:
    if isinstance(value, bool):
        value = _("yes") if value else _("no")
    elif isinstance(value, list | tuple):
        value = ", ".join(map(str, value))
    return f"{key.replace('_', ' ')}: {value}"


def audit_detail_lines(detail: dict[str, Any] | None) -> list[str]:
    """One short phrase per fact, in the order the service wrote them; changes as "before → after"."""
    detail = dict(detail or {})
    lines: list[str] = []
    for before, after in (("before", "after"), ("from", "to")):
        if before in detail and after in detail:
            lines.append(f"{_label(detail.pop(before))} → {_label(detail.pop(after))}")
    for key, value in detail.items():
        if key in _HIDDEN:
            continue
        phrase = _PHRASES[key](value) if key in _PHRASES else _plain(key, value)
        if phrase:
            lines.append(phrase)
    return lines
