"""One input rule at every edge: NUL and the other control characters XML
cannot carry are refused with a message by every web form and API field
(PostgreSQL refuses NUL, docx is XML), nothing is stored, and nothing answers
500; text the model wrote is cleaned instead; docx exports never fail on a
name or a text; numeric query parameters take ASCII digits only."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from docx import Document

from portal.actor import Actor
from portal.models import Project, Team
from portal.services.invitations import invitation_create
from tests.api_support import api
from tests.conftest import login
from tests.transcript_factory import make_transcript, wav_bytes
from transcription.asr.results import SegmentResult
from transcription.models import InsightTemplate

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]

POISONS = {"nul": "\x00", "vertical-tab": "\x0b", "escape": "\x1b"}
RULE = "Remove the control characters (such as NUL) from this text; they cannot be stored."
DJANGO_NUL = "Null characters are not allowed."


@dataclass
class World:
    alice: User
    team: Team
    project: Project
    transcript_id: str
    invitation_path: str
    template_id: int = 0


@dataclass
class WebForm:
    """A form of the site: where it posts, a valid filling, its free-text fields
    (refused with the rule's message) and its other fields (choices, names of
    things, passwords: refused as any wrong value is)."""

    url: Callable[[World], str]
    data: dict[str, str]
    text_fields: tuple[str, ...]
    other_fields: tuple[str, ...] = ()
    same: tuple[str, ...] = ()  # fields that must repeat one value (a new password twice)
    anonymous: bool = False
    files: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _transcript(w: World, tail: str) -> str:
    return f"/transcripts/{w.transcript_id}/{tail}"


# Every web form that takes text, by URL name, with the fields a person types into.
FORMS: dict[str, WebForm] = {
    "team_create": WebForm(lambda w: "/teams/new/", {"name": "Gamma"}, ("name",)),
    "team_rename": WebForm(lambda w: f"/teams/{w.team.pk}/rename/", {"name": "Beta"}, ("name",)),
    "member_add": WebForm(lambda w: f"/teams/{w.team.pk}/members/add/", {"identifier": "charlie", "role": "member"},
                          ("identifier",), ("role",)),
    "member_role": WebForm(lambda w: f"/teams/{w.team.pk}/members/role/", {"username": "bob", "role": "member"},
                           (), ("username", "role")),
    "member_remove": WebForm(lambda w: f"/teams/{w.team.pk}/members/remove/", {"username": "bob"}, (), ("username",)),
    "invitation_create": WebForm(lambda w: f"/teams/{w.team.pk}/invitations/",
                                 {"email": "dora@example.org", "role": "member"}, (), ("email", "role")),
    "invitation_accept": WebForm(lambda w: w.invitation_path,
                                 {"username": "erin", "password1": "a long pass phrase 42",
                                  "password2": "a long pass phrase 42"},
                                 ("username",), ("password1", "password2"), anonymous=True),
    "project_create": WebForm(lambda w: f"/teams/{w.team.pk}/projects/new/",
                              {"name": "Talks", "hotwords": "FunASR", "speakers": "off", "itn": "auto"},
                              ("name", "hotwords"), ("preset", "speakers", "itn")),
    "project_edit": WebForm(lambda w: f"/projects/{w.project.pk}/edit/",
                            {"name": "Talks", "hotwords": "FunASR", "speakers": "off", "itn": "auto"},
                            ("name", "hotwords"), ("preset", "speakers", "itn")),
    "preferences": WebForm(lambda w: "/settings/", {"language": "en", "timezone": "", "theme": "system"},
                           (), ("language", "timezone", "theme")),
    "api_tokens": WebForm(lambda w: "/settings/tokens/", {"name": "laptop"}, ("name",)),
    "email_change": WebForm(lambda w: "/settings/email/", {"email": "alice@new.example"}, (), ("email",)),
    "transcript_question_new": WebForm(lambda w: _transcript(w, "questions/new/"), {"question": "Who decides?"},
                                       ("question",)),
    "transcript_insight_template_new": WebForm(lambda w: _transcript(w, "insight-templates/new/"),
                                               {"name": "QA", "prompt": "List the checks."}, ("name", "prompt")),
    "transcript_insight_template": WebForm(lambda w: _transcript(w, f"insight-templates/{w.template_id}/"),
                                           {"name": "QA", "prompt": "List the checks."}, ("name", "prompt")),
    "webhook_add": WebForm(lambda w: f"/projects/{w.project.pk}/webhooks/add/", {"url": "https://example.org/hook"},
                           ("url",)),
    "transcript_segment": WebForm(lambda w: _transcript(w, "segments/0/"), {"text": "大家好。"}, ("text",)),
    "transcript_speakers": WebForm(lambda w: _transcript(w, "speakers/"), {"speaker": "spk0", "name": "Wang"},
                                   ("speaker", "name")),
    "transcript_speakers_recluster": WebForm(lambda w: _transcript(w, "speakers/recluster/"), {"speakers": "2"},
                                    (), ("speakers",)),
    "transcript_review": WebForm(lambda w: _transcript(w, "review/"), {"status": "in_review"}, (), ("status",)),
    "transcript_replace": WebForm(lambda w: _transcript(w, "replace/"), {"find": "预算", "replace": "经费"},
                                  ("find", "replace"), extra={"apply": "1"}),
    "transcript_replace:preview": WebForm(lambda w: _transcript(w, "replace/"), {"find": "预算", "replace": "经费"},
                                          ("find", "replace")),
    "project_glossary": WebForm(lambda w: f"/projects/{w.project.pk}/glossary/", {"find": "预算", "replace": "经费"},
                                ("find", "replace"), extra={"apply": "1"}),
    "project_glossary:preview": WebForm(lambda w: f"/projects/{w.project.pk}/glossary/",
                                        {"find": "预算", "replace": "经费"}, ("find", "replace")),
    "project_hotwords_add": WebForm(lambda w: f"/projects/{w.project.pk}/hotwords/add/", {"word": "经费"}, ("word",)),
    "project_upload": WebForm(lambda w: f"/projects/{w.project.pk}/upload/",
                              {"hotwords": "FunASR", "speakers": "off"}, ("hotwords",), ("preset", "speakers"),
                              files=True),
    "project_exports": WebForm(lambda w: f"/projects/{w.project.pk}/exports/", {"format": "txt"},
                               (), ("format", "chinese", "punctuation", "max_chars", "itn")),
    "login": WebForm(lambda w: "/accounts/login/", {"username": "alice", "password": "password"},
                     (), ("username", "password"), anonymous=True),
    "password_reset": WebForm(lambda w: "/accounts/password_reset/", {"email": "alice@example.org"}, (),
                              ("email",), anonymous=True),
    "password_change": WebForm(lambda w: "/accounts/password_change/",
                               {"old_password": "password", "new_password1": "a long pass phrase 42",
                                "new_password2": "a long pass phrase 42"},
                               ("new_password1",), ("old_password",), same=("new_password1", "new_password2")),
    "search": WebForm(lambda w: "/search/", {"q": "预算"}, ("q",)),  # a GET form
}
GET_FORMS = {"search"}

# The site's other URL names: pages, and buttons whose posts carry no text (an id in the URL).
NO_TEXT = {
    "dashboard", "team", "team_settings", "team_audit", "invitation_revoke", "project", "project_jobs",
    "project_delete", "project_rejections_clear", "project_retry_failed", "project_export_download",
    "transcript", "transcript_segment_edit", "transcript_segment_revisions", "transcript_revision_restore",
    "transcript_speakers_card",
    "transcript_export", "media_file", "queue", "job", "job_cancel", "job_retry", "ops", "ops_panel",
    "ops_requeue_not_set_up", "api_token_revoke", "healthz", "set_language", "logout", "password_change_done",
    "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "project_webhooks", "webhook_delete", "webhook_test", "email_confirm", "project_accuracy", "team_accuracy",
    "transcript_insights", "transcript_chapters", "transcript_insight_command", "transcript_insight_template_delete",
    "transcript_insight_new",  # a kind and a language, both chosen from lists
}


def _web_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list, namespace: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in ("admin", "api") or str(p.pattern).startswith(("admin/", "api/")):
                    continue
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names


def test_the_list_of_forms_covers_every_page_of_the_site():
    known = {name.split(":")[0] for name in FORMS} | NO_TEXT
    unlisted = _web_url_names() - known
    assert not unlisted, f"pages missing from FORMS (text fields) or NO_TEXT: {sorted(unlisted)}"


@pytest.fixture
def world(alice, bob, team, project, media_root) -> World:
    alice.email = "alice@example.org"
    alice.save()
    transcript = make_transcript(project, user=alice)
    sent = invitation_create(actor=Actor.of(alice), team=team, email="erin@example.org", role="member")
    template = InsightTemplate.objects.create(project=project, name="Checks", prompt="List the checks.")
    return World(alice=alice, team=team, project=project, transcript_id=str(transcript.pk),
                 invitation_path=urlsplit(sent.url).path, template_id=template.pk)


def _stored() -> str:
    """Every row of the portal's own tables and its users, as JSON (control characters escaped)."""
    models = [m for name in ("portal", "transcription", "api") for m in apps.get_app_config(name).get_models()]
    return "".join(serializers.serialize("json", m.objects.all()) for m in [*models, User])


def _escaped(poison: str) -> str:
    return json.dumps(poison)[1:-1]


CASES = [(form, field_name, poison) for form, spec in FORMS.items()
         for field_name in (*spec.text_fields, *spec.other_fields) for poison in POISONS]


@pytest.mark.parametrize(("form", "field_name", "poison"), CASES)
def test_every_web_form_refuses_control_characters_and_stores_nothing(world, form, field_name, poison):
    spec = FORMS[form]
    client = Client(raise_request_exception=False) if spec.anonymous else login(world.alice)
    client.raise_request_exception = False
    bad = POISONS[poison]
    data = {**spec.data, **spec.extra}
    data[field_name] = f"ab{bad}c" if field_name not in ("speaker",) else f"spk0{bad}"
    if field_name in spec.same:
        data.update(dict.fromkeys(spec.same, f"a long pass{bad}phrase 42"))
    if spec.files:
        data["files"] = SimpleUploadedFile("talk.wav", wav_bytes(1.0), content_type="audio/wav")
    before = _stored()
    url = spec.url(world)
    if form in GET_FORMS:
        response = client.get(url, data)
    else:
        response = client.post(url, data, HTTP_ACCEPT="application/json" if spec.files else "text/html")
    assert response.status_code != 500, response.content[:500]
    stored = _stored()
    assert _escaped(bad) not in stored
    if field_name in spec.text_fields:
        if form not in ("invitation_accept", "password_change"):
            assert stored == before  # a refused form changes nothing (not even an audit record)
        page = client.get(response.url).content.decode() if response.status_code == 302 else \
            response.content.decode()
        assert response.status_code in (200, 302, 400, 422) and ("control characters" in page or DJANGO_NUL in page), (
            response.status_code, page[:300])


# --- the API ---------------------------------------------------------------------------------

@pytest.mark.parametrize("poison", POISONS)
def test_the_api_refuses_control_characters_with_the_same_message(world, poison):
    client = api(world.alice)
    bad = POISONS[poison]
    for method, url, body in (
        ("post", "/api/v1/teams/", {"name": f"x{bad}y"}),
        ("post", "/api/v1/projects/", {"team": str(world.team.pk), "name": f"x{bad}y"}),
        ("post", "/api/v1/projects/", {"team": str(world.team.pk), "name": "x", "hotwords": [f"a{bad}b"]}),
        ("patch", f"/api/v1/transcripts/{world.transcript_id}/segments/0/", {"text": f"x{bad}y"}),
    ):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert RULE in response.json()["detail"] or "control characters" in response.json()["detail"]
    assert _escaped(bad) not in _stored()


# --- the model's text is cleaned, not refused -----------------------------------------------------

def test_text_the_model_wrote_is_cleaned():
    segment = SegmentResult(index=0, start=0.0, end=1.0, text="大家\x00好\x0b。", speaker="spk\x1b0",
                            words=[("大\x00", 0.0, 0.5)])
    assert (segment.text, segment.speaker, segment.words) == ("大家好。", "spk0", [("大", 0.0, 0.5)])


# --- docx never fails on a text or a name --------------------------------------------------------

def _docx_text(content: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_docx_export_survives_stored_control_characters_and_a_long_file_name(project, alice, media_root):
    # As older versions stored them: a control character in a segment and a speaker name; a file
    # name of 250 characters (255 is the most a name can have).
    transcript = make_transcript(project, user=alice, name="会" * 120 + "x" * 126 + ".wav",
                                 segments=[(0.0, 1.0, "大家\x0b好。", "spk0"), (1.0, 2.0, "Hi\x1f.", "spk1")],
                                 speaker_names={"spk0": "Wang\x1b"})
    client = login(alice)
    response = client.get(f"/transcripts/{transcript.pk}/export/", {"format": "docx", "speakers": "1"})
    assert response.status_code == 200
    text = _docx_text(b"".join(response.streaming_content) if response.streaming else response.content)
    assert "Wang: 大家好。" in text and "Hi." in text
    core = Document(io.BytesIO(response.content)).core_properties
    assert len(core.title) <= 255 and core.title.startswith("会会会") and len(core.comments) <= 255
    # The project ZIP in docx too.
    answer = client.post(f"/projects/{project.pk}/exports/", {"format": "docx", "speakers": "1"},
                         follow=True)
    assert answer.status_code == 200
    done = project.exports.order_by("-pk").first()
    assert done is not None and done.file, done and done.__dict__
    with zipfile.ZipFile(done.file.open()) as archive:
        names = [name for name in archive.namelist() if name.endswith(".docx")]
        assert names and "Wang: 大家好。" in _docx_text(archive.read(names[0]))


# --- ASCII digits only --------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["page=²", "page_size=①", "page=٣", "page_size=１０"])
def test_unicode_digits_in_paging_are_a_clear_400_on_every_list(world, query):
    client = api(world.alice)
    for url in ("/api/v1/teams/", "/api/v1/projects/", "/api/v1/jobs/"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, response.content)
        assert "must be a whole number from 1" in response.json()["detail"]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_unicode_digits_in_max_chars_are_a_clear_400(world, fmt):
    client = login(world.alice)
    client.raise_request_exception = False
    web = client.get(f"/transcripts/{world.transcript_id}/export/", {"format": fmt, "max_chars": "²²"})
    assert web.status_code == 400 and "max_chars must be a whole number" in web.content.decode()
    response = api(world.alice).get(f"/api/v1/transcripts/{world.transcript_id}/export/",
                                    {"format": fmt, "max_chars": "²²"})
    assert response.status_code == 400 and "max_chars must be a whole number" in response.json()["detail"]
    assert api(world.alice).get(f"/api/v1/transcripts/{world.transcript_id}/export/",
                                {"format": fmt, "max_chars": "20"}).status_code == 200


def test_a_job_list_still_pages_with_ascii_digits(world):
    response = api(world.alice).get("/api/v1/jobs/?page=1&page_size=1")
    assert response.status_code == 200 and response.json()["count"] == 1
