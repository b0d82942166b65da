"""Every API error is JSON {"detail"} with a message that says what is wrong,
also where Django answers before the API's views: CSRF failures, bodies with
too many fields or files, unreadable file names, damaged ZIPs; the list
parameters refuse what they do not understand, and the schema documents the
export formats and the limits."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory

from portal.error_views import csrf_failure, server_error
from portal.models import Team
from tests.api_support import api, fresh_cache, make_job, wav_bytes  # noqa: F401
from transcription.models import Job
from transcription.services.upload_parts import PartHeaderWatch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()


def is_json_detail(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return json.loads(response.content)["detail"]


def multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"XyZzY") -> tuple[bytes, str]:
    """(body, content type) from (Content-Disposition parameters, data) parts."""
    body = b"".join(b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition +
                    b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
                    for disposition, data in parts)
    return body + b"--" + boundary + b"--\r\n", f"multipart/form-data; boundary={boundary.decode()}"


def upload_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/uploads/"


# --- answers Django gives before the API's views ----------------------------------------------

def test_a_post_to_a_malformed_id_gets_json_not_a_csrf_page(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    detail = is_json_detail(browser.post("/api/v1/jobs/not-a-uuid/cancel/"), 404)
    assert detail == "Not found."


def test_a_csrf_failure_under_api_is_json_and_elsewhere_the_sites_page(alice):
    request = RequestFactory().post("/api/v1/anything/")
    detail = is_json_detail(csrf_failure(request, reason="CSRF cookie not set."), 403)
    assert detail.startswith("CSRF check failed")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.post("/teams/new/", {"name": "X"})
    assert page.status_code == 403
    assert "This form has expired or did not come from this site." in page.content.decode()
    assert "/static/css/app.css" in page.content.decode()


def test_a_crash_under_api_is_json():
    detail = is_json_detail(server_error(RequestFactory().get("/api/v1/jobs/")), 500)
    assert detail == "Something went wrong on the server. Try again later."


def test_too_many_form_fields_get_json(alice):
    fields = {f"f{i}": "x" for i in range(1100)}
    detail = is_json_detail(api(alice).post("/api/v1/teams/", fields, format="multipart"), 400)
    assert detail == "Too many form fields in one request (the limit is 1000)."
    assert not Team.objects.exists()


def test_too_many_form_fields_on_a_page_get_the_sites_page(alice):
    client = Client()
    client.force_login(alice)
    response = client.post("/teams/new/", {f"f{i}": "x" for i in range(1100)})
    assert response.status_code == 400
    assert "Too many form fields in one request (the limit is 1000)." in response.content.decode()


def test_too_many_files_get_json_and_leave_nothing_behind(project, alice, tmp_path):
    files = [SimpleUploadedFile(f"a{i}.wav", wav_bytes(0.1)) for i in range(101)]
    detail = is_json_detail(api(alice).post(upload_url(project), {"file": files}, format="multipart"), 400)
    assert detail == ("Too many files in one request (the limit is 100). Send them in several requests, or as a ZIP.")
    assert not Job.objects.exists()
    assert list(Path(tmp_path / "spool").iterdir()) == []


def test_a_file_name_that_is_not_utf8_is_rejected_by_name(project, alice):
    body, content_type = multipart((b'name="file"; filename="caf\xe9.wav"', wav_bytes()),
                                   (b'name="file"; filename="ok.wav"', wav_bytes()))
    response = api(alice).generic("POST", upload_url(project), body, content_type=content_type)
    assert response.status_code == 201
    assert [j["filename"] for j in response.json()["jobs"]] == ["ok.wav"]
    assert response.json()["rejected"] == [{"filename": "café.wav", "error": (
        "The file name is not valid UTF-8, so the file could not be read. Rename the file, or send the name as "
        "filename*=UTF-8''… .")}]


def test_a_large_file_with_a_latin1_name_is_rejected_for_its_name_not_for_header_size(project, alice, tmp_path):
    # Over 1 KB of data after the part header: Django's parser used to fail on the next part's
    # headers, so the answer blamed "headers over 1 KB" and lost the other files and fields.
    audio = wav_bytes(10.0)  # 320 KB: past the parser's 64 KB chunks
    body, content_type = multipart((b'name="file"; filename="r\xe9sum\xe9.wav"', audio),
                                   (b'name="file"; filename="ok.wav"', audio), (b'name="hotwords"', b"Paraformer"))
    response = api(alice).generic("POST", upload_url(project), body, content_type=content_type)
    assert response.status_code == 201, response.content
    assert [(j["filename"], j["options"]["hotwords"]) for j in response.json()["jobs"]] == [("ok.wav", ["Paraformer"])]
    assert response.json()["rejected"] == [{"filename": "résumé.wav", "error": (
        "The file name is not valid UTF-8, so the file could not be read. Rename the file, or send the name as "
        "filename*=UTF-8''… .")}]
    web = Client()
    web.force_login(alice)
    body, content_type = multipart((b'name="files"; filename="r\xe9sum\xe9.wav"', audio))
    answer = web.generic("POST", f"/projects/{project.pk}/upload/", body, content_type=content_type,
                         HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and "not valid UTF-8" in answer.json()["rejected"][0]["error"]
    assert list(Path(tmp_path / "spool").iterdir()) == []


@pytest.mark.parametrize("size", [1, 7, 64, 4096])
def test_the_body_watch_reads_the_same_whatever_the_read_size(size):
    body, _type = multipart((b'name="file"; filename="ok.wav"', b"abc\r\n\r\n" * 50),
                            (b'name="file"; filename="caf\xe9.wav"', b"x" * 3000), (b'name="hotwords"', b"a"))

    def read_all(watch: PartHeaderWatch, size: int) -> bytes:
        pieces = []
        while piece := watch.read(size):
            pieces.append(piece)
        return b"".join(pieces)

    watch = PartHeaderWatch(io.BytesIO(body), b"XyZzY")
    assert read_all(watch, size) == body.replace(b'name="file"; filename="caf\xe9.wav"',
                                                 b'name="_unreadable_part"; filename="unreadable"')
    assert watch.unreadable == ["café.wav"]


def test_a_request_whose_only_file_has_a_bad_name_says_so(project, alice):
    body, content_type = multipart((b'name="file"; filename="\xb2\xe2\xca\xd4.wav"', wav_bytes()))  # GBK
    detail = is_json_detail(api(alice).generic("POST", upload_url(project), body, content_type=content_type), 400)
    assert detail.startswith("No file was accepted.") and "not valid UTF-8" in detail
    web = Client()
    web.force_login(alice)
    answer = web.generic("POST", f"/projects/{project.pk}/upload/", body, content_type=content_type,
                         HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and "not valid UTF-8" in answer.json()["rejected"][0]["error"]


def test_a_part_with_overlong_headers_gets_a_clear_message(project, alice):
    body, content_type = multipart((b'name="file"; filename="' + b"a" * 1100 + b'.wav"', wav_bytes()))
    detail = is_json_detail(api(alice).generic("POST", upload_url(project), body, content_type=content_type), 400)
    assert detail == "A part of the form has headers over 1 KB: shorten the file name."


@pytest.mark.parametrize(("name", "data"), [
    ("batch.zip", b"PK\x03\x04" + b"\x00garbage" * 50),  # a ZIP's start, its end cut off
    ("batch.zip", b"this is not a zip at all" * 10),
])
def test_a_damaged_zip_is_called_a_damaged_zip(project, alice, name, data):
    response = api(alice).post(upload_url(project), {"file": [SimpleUploadedFile(name, data)]}, format="multipart")
    assert response.status_code == 400
    assert response.json()["rejected"] == [{"filename": name, "error": "This ZIP file is damaged and cannot be read."}]


# --- parameters and bodies ------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "message"), [
    ("page=0", "page must be a whole number from 1."),
    ("page=-1", "page must be a whole number from 1."),
    ("page=two", "page must be a whole number from 1."),
    ("page=", "page must be a whole number from 1."),
    ("page_size=0", "page_size must be a whole number from 1."),
    ("page_size=201", "page_size must be at most 200."),
    ("project=", "project must be a project id (a UUID)."),
    ("status=", "Unknown status '': use one of queued, running, succeeded, failed, cancelled."),
])
def test_list_parameters_refuse_what_they_do_not_understand(alice, query, message):
    assert is_json_detail(api(alice).get(f"/api/v1/jobs/?{query}"), 400) == message


def test_a_page_past_the_last_is_404_with_a_reason(project, alice):
    make_job(project, alice)
    assert api(alice).get("/api/v1/jobs/?page=1").json()["count"] == 1
    detail = is_json_detail(api(alice).get("/api/v1/jobs/?page=2"), 404)
    assert detail == "There is no page 2: it is past the last page."


@pytest.mark.parametrize("name", [0, 1.5, True, ["x"], {"a": 1}, None])
def test_a_team_name_must_be_text(alice, name):
    detail = is_json_detail(api(alice).post("/api/v1/teams/", {"name": name}, format="json"), 400)
    assert detail.startswith("name: ")
    assert not Team.objects.exists()


def test_project_fields_must_be_text(alice, team):
    client = api(alice)
    for body in ({"team": str(team.pk), "name": 0}, {"team": 0, "name": "P"},
                 {"team": str(team.pk), "name": "P", "hotwords": [1]}):
        assert is_json_detail(client.post("/api/v1/projects/", body, format="json"), 400)
    assert not team.projects.exists()


# --- the schema -----------------------------------------------------------------------------------

@pytest.fixture
def schema(db):
    return api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_the_schema_lists_every_export_content_type(schema):
    content = schema["paths"]["/api/v1/transcripts/{transcript_id}/export/"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/plain", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            "application/x-subrip", "text/vtt", "application/json"}


def test_the_schema_documents_the_limits(schema):
    upload = schema["paths"]["/api/v1/projects/{project_id}/uploads/"]["post"]["description"]
    for limit in ("2048 MB", "at most 100 files per request", "1000 members", "UTF-8", "60/hour"):
        assert limit in upload, limit
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["description"]
    assert "10/min per client address" in token and "5 wrong passwords" in token
    params = {p["name"]: p for p in schema["paths"]["/api/v1/jobs/"]["get"]["parameters"]}
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "default": 1}
    assert params["page_size"]["schema"]["maximum"] == 200
