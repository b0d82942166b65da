"""The Simplified Chinese interface: chosen in the user's preferences or by the
browser's Accept-Language, and a catalogue that is complete and compiled."""

from __future__ import annotations

import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from portal.models import Profile
from tests.conftest import login

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# A named placeholder with its conversion: %(name)s, %(n)d, %(status)r, ...
PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
TAG = re.compile(r"</?[A-Za-z][^>]*>")


# --- the pages -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_user_who_chose_chinese_sees_the_dashboard_in_chinese(alice, team):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    r = login(alice).get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert '<html lang="zh-hans"' in html
    for chinese in ("仪表板", "我的团队", "新建团队", "已登录为 alice"):
        assert chinese in html, chinese
    for english in ("Dashboard", "My teams", "New team", "Signed in as"):
        assert english not in html, english


@pytest.mark.django_db
def test_lazy_choice_labels_are_translated_on_the_team_page(alice, team):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    html = login(alice).get(f"/teams/{team.id}/").content.decode()
    assert "你的角色：所有者" in html
    assert "Your role" not in html and "Owner" not in html


@pytest.mark.django_db
def test_the_dashboard_shows_the_translated_role(alice, team):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    html = login(alice).get("/").content.decode()
    assert '<td data-label="我的角色">所有者</td>' in html


@pytest.mark.django_db
def test_a_user_without_a_language_sees_the_dashboard_in_english(alice):
    r = login(alice).get("/")
    html = r.content.decode()
    assert "Dashboard" in html and "My teams" in html
    assert "仪表板" not in html


@pytest.mark.django_db
def test_the_login_page_follows_accept_language_chinese():
    r = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert r.status_code == 200
    assert r.headers["Content-Language"] == "zh-hans"
    html = r.content.decode()
    for chinese in ("登录", "用户名", "密码", "语音转写平台"):
        assert chinese in html, chinese
    for english in ("Sign in", "Username", "Password", "Transcription portal"):
        assert english not in html, english


@pytest.mark.django_db
def test_the_login_page_stays_english_for_english_browsers():
    r = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    html = r.content.decode()
    assert "Sign in" in html and "登录" not in html


# --- the catalogue ---------------------------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """A minimal .po reader: entries with flags, msgctxt, msgid(_plural) and msgstr(s)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def append(kind: str, index: int, text: str) -> None:
        assert entry is not None
        if kind == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        else:
            setattr(entry, kind, (getattr(entry, kind) or "") + text)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):  # obsolete entry: not used
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"line {number}: continuation without a keyword"
            append(*target, _unquote(line))
        else:
            keyword, _, rest = line.partition(" ")
            match = re.fullmatch(r"(msgctxt|msgid|msgid_plural|msgstr)(?:\[(\d+)\])?", keyword)
            assert match, f"line {number}: unexpected {keyword!r}"
            kind, index = match.group(1), int(match.group(2) or 0)
            if kind == "msgstr":
                entry.msgstr[index] = ""
            else:
                setattr(entry, kind, "")
            target = (kind, index)
            append(kind, index, _unquote(rest))
    return [e for e in entries if e.msgstr or e.msgid]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    return parse_po(PO_PATH)


def _messages(catalogue: list[Entry]) -> list[Entry]:
    return [e for e in catalogue if e.msgid]


def test_the_catalogue_header_is_for_simplified_chinese(catalogue):
    header = next(e for e in catalogue if e.msgid == "")
    assert "fuzzy" not in header.flags
    assert "Language: zh_Hans\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.msgstr[0]


def test_every_message_is_translated_and_none_is_fuzzy(catalogue):
    messages = _messages(catalogue)
    assert len(messages) > 400
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert not fuzzy, fuzzy
    empty = [e.msgid for e in messages if not e.msgstr or any(not s.strip() for s in e.msgstr.values())]
    assert not empty, empty
    # Chinese has one plural form: exactly msgstr[0] for plural messages.
    wrong_plurals = [e.msgid for e in messages if e.msgid_plural is not None and set(e.msgstr) != {0}]
    assert not wrong_plurals, wrong_plurals


def test_translations_keep_placeholders_tags_and_edge_whitespace(catalogue):
    problems = []
    for e in _messages(catalogue):
        sources = [e.msgid] + ([e.msgid_plural] if e.msgid_plural is not None else [])
        wanted = set().union(*(PLACEHOLDER.findall(s) for s in sources))
        for translation in e.msgstr.values():
            got = set(PLACEHOLDER.findall(translation))
            if got != wanted:
                problems.append((e.msgid, "placeholders", sorted(wanted), sorted(got)))
            if Counter(TAG.findall(e.msgid)) != Counter(TAG.findall(translation)):
                problems.append((e.msgid, "HTML tags"))
            for side in (str.lstrip, str.rstrip):
                if (side(e.msgid) == e.msgid) != (side(translation) == translation):
                    problems.append((e.msgid, "leading/trailing whitespace"))
            if e.msgid.count("\n") and translation.count("\n") != e.msgid.count("\n"):
                problems.append((e.msgid, "newlines"))
    assert not problems, problems


def test_the_compiled_catalogue_matches_the_po_file(catalogue):
    """django.mo is committed (CI does not compile): it must not lag behind django.po."""
    with MO_PATH.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    stale = []
    for e in _messages(catalogue):
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            ok = compiled._catalog.get(key) == e.msgstr[0]
        else:
            ok = compiled._catalog.get((key, 0)) == e.msgstr[0]
        if not ok:
            stale.append(e.msgid)
    assert not stale, f"run compilemessages -l zh_Hans; out of date: {stale[:10]}"
