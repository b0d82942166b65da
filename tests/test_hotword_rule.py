"""One hotword rule everywhere — the project form, the project API, upload
options and the glossary's "add hotword": at most 200 words of at most 50
characters, no control characters, no separator inside a word. Breaking it
is refused with the reason and stores nothing; nothing is cut short."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import AuditEvent, Project
from tests.api_support import api, wav_bytes
from tests.conftest import login
from transcription.models import Job

pytestmark = pytest.mark.django_db

TOO_MANY = "That makes 201 hotwords; a project or an upload can have at most 200."
LONG = "Paraformer" * 5 + "X"  # 51 characters
TOO_LONG = "The hotword “ParaformerParaformer…” has 51 characters; a hotword can have at most 50."


def words(n: int, start: int = 0) -> list[str]:
    return [f"term{i}" for i in range(start, start + n)]


def test_the_glossary_add_cannot_pass_the_limit(project, alice):
    client = login(alice)
    url = f"/projects/{project.pk}/hotwords/add/"
    assert client.post(url, {"word": ",".join(words(150))}, HTTP_HX_REQUEST="true").status_code == 200
    # Six requests of 200 used to store 1,204 hotwords; now the second one is refused, with the reason.
    for _ in range(5):
        response = client.post(url, {"word": ",".join(words(51, start=150))}, HTTP_HX_REQUEST="true")
        assert response.status_code == 400 and response.json() == {"detail": TOO_MANY}
    project.refresh_from_db()
    assert project.hotwords == words(150)
    assert client.post(url, {"word": ",".join(words(50, start=150))}, HTTP_HX_REQUEST="true").status_code == 200
    project.refresh_from_db()
    assert len(project.hotwords) == 200
    # The project form still saves, and the API still matches its own schema (at most 200).
    edit = client.post(f"/projects/{project.pk}/edit/", {"name": project.name, "hotwords": "\n".join(project.hotwords),
                                                         "speakers": "off", "itn": "auto"})
    assert edit.status_code == 302
    assert len(api(alice).get(f"/api/v1/projects/{project.pk}/").json()["hotwords"]) == 200


@pytest.mark.parametrize(("word", "message"), [
    (LONG, TOO_LONG),
    ("a\x00b", "The hotword 'a\\x00b' contains control characters (such as NUL); remove them."),
])
def test_the_glossary_add_refuses_a_bad_word_instead_of_cutting_it(project, alice, word, message):
    before = AuditEvent.objects.count()
    response = login(alice).post(f"/projects/{project.pk}/hotwords/add/", {"word": word}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and response.json() == {"detail": message}
    project.refresh_from_db()
    assert project.hotwords == [] and AuditEvent.objects.count() == before


def test_the_project_form_says_why_instead_of_cutting(project, alice):
    client = login(alice)
    for text, message in (("\n".join(words(201)), TOO_MANY), (LONG, TOO_LONG)):
        response = client.post(f"/projects/{project.pk}/edit/", {"name": "Talks", "hotwords": text,
                                                                 "speakers": "off", "itn": "auto"})
        assert response.status_code == 200 and message in response.content.decode()
    project.refresh_from_db()
    assert project.name != "Talks" and project.hotwords == []


@pytest.mark.parametrize(("hotwords", "message"), [
    (words(201), "Ensure this field has no more than 200 elements."),
    ([LONG], TOO_LONG),
    (["Para, former"], "The hotword “Para, former” contains a comma or a line break; give each word on its own."),
])
def test_the_api_refuses_what_the_form_refuses(team, alice, hotwords, message):
    response = api(alice).post("/api/v1/projects/", {"team": str(team.pk), "name": "Talks", "hotwords": hotwords},
                               format="json")
    assert response.status_code == 400 and message in response.json()["detail"]
    assert not Project.objects.filter(name="Talks").exists()


@pytest.mark.parametrize(("hotwords", "message"), [(",".join(words(201)), TOO_MANY), (LONG, TOO_LONG)])
def test_upload_options_refuse_what_the_project_refuses(project, alice, hotwords, message):
    wav = SimpleUploadedFile("a.wav", wav_bytes(), content_type="audio/wav")
    response = api(alice).post(f"/api/v1/projects/{project.pk}/uploads/", {"file": [wav], "hotwords": hotwords},
                               format="multipart")
    assert response.status_code == 400 and response.json()["detail"] == message
    web = login(alice).post(f"/projects/{project.pk}/upload/",
                            {"files": [SimpleUploadedFile("a.wav", wav_bytes())], "hotwords": hotwords},
                            HTTP_ACCEPT="application/json")
    assert web.status_code == 400 and web.json()["detail"] == message
    assert not Job.objects.exists()
