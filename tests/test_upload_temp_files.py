"""Refused uploads leave nothing behind: the temporary file Django spools a
large upload into is gone once the answer is sent, on the project page and
in the API, whether the file was too large, not media, or accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api_support import api, fresh_cache  # noqa: F401
from tests.conftest import login
from tests.queue_support import tone_wav, upload
from transcription.models import MediaFile

pytestmark = pytest.mark.django_db

BIG = tone_wav(seconds=200)  # 6.4 MB: above the 2.5 MB that Django keeps in memory


@pytest.fixture
def temp_dir(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    settings.MAX_UPLOAD_MB = 1
    return tmp_path / "uploads"


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_it_leaves_no_temporary_file_for_an_oversize_web_upload(project, alice, temp_dir):
    response = login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("huge.wav", BIG)]},
                                 HTTP_ACCEPT="application/json")
    assert response.json()["rejected"][0]["error"] == "This file is larger than the limit of 1 MB."
    assert files_in(temp_dir) == []


def test_it_leaves_no_temporary_file_for_an_oversize_api_upload(project, alice, temp_dir):
    response = api(alice).post(f"/api/v1/projects/{project.pk}/uploads/",
                               {"file": [upload("huge.wav", BIG), upload("small.wav", tone_wav())]},
                               format="multipart")
    assert response.status_code == 201
    assert response.json()["rejected"][0]["filename"] == "huge.wav"
    assert files_in(temp_dir) == []


def test_it_leaves_no_temporary_file_for_several_refused_files_in_one_request(project, alice, temp_dir):
    files = [upload(f"huge-{i}.wav", BIG) for i in range(3)]
    response = login(alice).post(f"/projects/{project.pk}/upload/", {"files": files}, HTTP_ACCEPT="application/json")
    assert len(response.json()["rejected"]) == 3
    assert files_in(temp_dir) == []
    assert not MediaFile.objects.exists()


def test_it_leaves_no_temporary_file_for_large_files_that_are_not_media(project, alice, temp_dir, settings):
    settings.MAX_UPLOAD_MB = 100
    response = api(alice).post(f"/api/v1/projects/{project.pk}/uploads/",
                               {"file": [upload("notes.wav", b"not audio " * 400_000)]}, format="multipart")
    assert response.status_code == 400
    assert files_in(temp_dir) == []


def test_an_accepted_large_file_is_moved_out_of_the_temporary_folder(project, alice, temp_dir, settings):
    settings.MAX_UPLOAD_MB = 100
    response = login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("long.wav", BIG)]},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    assert files_in(temp_dir) == []
    assert MediaFile.objects.get().size == len(BIG)
