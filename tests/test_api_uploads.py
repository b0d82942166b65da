"""POST /api/v1/projects/{id}/uploads/: several "file" parts, ZIPs, rejections, limits."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.models import Membership, Role
from tests.api_support import MISSING, api, fresh_cache, wav_bytes, zip_bytes  # noqa: F401
from transcription.models import Job, JobStatus, MediaFile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def wav(name: str = "a.wav", seconds: float = 1.0) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, wav_bytes(seconds), content_type="audio/wav")


def upload(client, project_id, *files):
    return client.post(f"/api/v1/projects/{project_id}/uploads/", {"file": list(files)}, format="multipart")


def test_it_turns_each_uploaded_file_into_a_queued_job(project, alice):
    r = upload(api(alice), project.id, wav("first.wav"), wav("second.wav", 2.0))
    assert r.status_code == 201
    body = r.json()
    assert body["rejected"] == []
    assert [(j["filename"], j["status"]) for j in body["jobs"]] == [("first.wav", "queued"),
                                                                   ("second.wav", "queued")]
    jobs = {str(j.id): j for j in Job.objects.select_related("media")}
    assert set(jobs) == {j["id"] for j in body["jobs"]}
    first = jobs[body["jobs"][0]["id"]]
    assert first.project == project and first.created_by == alice and first.status == JobStatus.QUEUED
    assert first.media.duration == pytest.approx(1.0, abs=0.05)
    assert default_storage.exists(first.media.file.name)


def test_it_lists_rejected_files_next_to_accepted_ones(project, alice):
    notes = SimpleUploadedFile("notes.txt", b"these are words, not audio\n" * 20, content_type="text/plain")
    r = upload(api(alice), project.id, notes, wav("good.wav"))
    assert r.status_code == 201
    assert [j["filename"] for j in r.json()["jobs"]] == ["good.wav"]
    assert r.json()["rejected"] == [
        {"filename": "notes.txt", "error": "This file is not an audio or video file that can be read."}]
    assert MediaFile.objects.count() == 1


def test_it_answers_400_with_the_reasons_when_nothing_was_accepted(project, alice):
    empty = SimpleUploadedFile("empty.wav", b"", content_type="audio/wav")
    r = upload(api(alice), project.id, empty)
    assert r.status_code == 400
    assert r.json() == {
        "detail": "No file was accepted. empty.wav: This file is empty (0 bytes).",
        "jobs": [],
        "rejected": [{"filename": "empty.wav", "error": "This file is empty (0 bytes)."}],
    }
    assert not Job.objects.exists()


def test_it_asks_for_a_file_field(project, alice):
    r = api(alice).post(f"/api/v1/projects/{project.id}/uploads/", {"other": "x"}, format="multipart")
    assert r.status_code == 400 and r.json()["detail"] == 'Attach one or more files in "file" fields.'
    r = api(alice).post(f"/api/v1/projects/{project.id}/uploads/", {"file": "x"}, format="json")
    assert r.status_code == 415


def test_it_unpacks_a_zip(project, alice):
    archive = zip_bytes({"day1/morning.wav": wav_bytes(1.0), "day1/readme.txt": b"hello",
                         "evening.wav": wav_bytes(1.5)})
    r = upload(api(alice), project.id, SimpleUploadedFile("batch.zip", archive, content_type="application/zip"))
    assert r.status_code == 201
    assert sorted(j["filename"] for j in r.json()["jobs"]) == ["day1/morning.wav", "evening.wav"]
    assert [x["filename"] for x in r.json()["rejected"]] == ["batch.zip › day1/readme.txt"]


def test_it_applies_the_upload_size_limit(project, alice, settings):
    settings.MAX_UPLOAD_MB = 1
    r = upload(api(alice), project.id, wav("long.wav", 40.0), wav("short.wav"))
    assert r.status_code == 201
    assert [j["filename"] for j in r.json()["jobs"]] == ["short.wav"]
    assert r.json()["rejected"] == [{"filename": "long.wav", "error": "This file is larger than the limit of 1 MB."}]


def test_it_forbids_viewers_to_upload(project, bob):
    r = upload(api(bob), project.id, wav())
    assert r.status_code == 403 and r.json() == {"detail": "Viewers can read but not change anything."}
    assert not MediaFile.objects.exists()


def test_it_hides_other_teams_projects_from_uploaders(project, charlie):
    r = upload(api(charlie), project.id, wav())
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert not MediaFile.objects.exists()


@pytest.mark.parametrize("project_id", ["not-a-uuid", MISSING])
def test_it_answers_404_for_malformed_or_unknown_project_ids_on_upload(alice, project_id):
    assert upload(api(alice), project_id, wav()).status_code == 404


def test_it_answers_401_to_anonymous_uploads(project):
    r = upload(api(), project.id, wav())
    assert r.status_code == 401 and r.json() == {"detail": "Authentication credentials were not provided."}


def test_it_only_accepts_post_for_uploads(project, alice):
    r = api(alice).get(f"/api/v1/projects/{project.id}/uploads/")
    assert r.status_code == 405 and r.json() == {"detail": 'Method "GET" not allowed.'}


def test_it_throttles_uploads_per_user(project, alice, charlie, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_upload": "2/hour"}}
    client = api(alice)
    assert upload(client, project.id, wav()).status_code == 201
    assert upload(client, project.id, wav()).status_code == 201
    r = upload(client, project.id, wav("third.wav"))
    assert r.status_code == 429 and "throttled" in r.json()["detail"]
    assert Job.objects.count() == 2
    # Other users have their own allowance.
    Membership.objects.create(team=project.team, user=charlie, role=Role.MEMBER)
    assert upload(api(charlie), project.id, wav()).status_code == 201


def test_it_accepts_uploads_from_the_browser_session_with_csrf(project, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = f"/api/v1/projects/{project.id}/uploads/"
    assert client.post(url, {"file": [wav()]}).status_code == 403
    client.get("/settings/tokens/")
    token = client.cookies["csrftoken"].value
    r = client.post(url, {"file": [wav()], "csrfmiddlewaretoken": token})
    assert r.status_code == 201 and len(r.json()["jobs"]) == 1
