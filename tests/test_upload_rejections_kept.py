"""Rejected uploads: the reasons come in the uploader's language, and the
project page keeps the last ones after the person has left the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import Profile
from tests.conftest import login
from tests.queue_support import tone_wav, upload
from transcription.models import UploadRejection
from transcription.services.upload_rejections import KEEP

pytestmark = pytest.mark.django_db


def _post(client, project, *files, json: bool = False):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(reverse("project_upload", args=[project.pk]), {"files": list(files)}, **headers)


def test_rejections_stay_on_the_project_page_after_leaving_it(project, alice, bob):
    client = login(alice)
    _post(client, project, upload("good.wav", tone_wav()), upload("notes.txt", b"not audio at all"))
    client.get(reverse("dashboard"))  # leave, come back later
    page = client.get(reverse("project", args=[project.pk])).content.decode()
    assert "Not added" in page
    assert "notes.txt was not added: This file is not an audio or video file that can be read." in page
    # Colleagues see them too (who uploaded, when); a viewer cannot clear the list.
    other = login(bob).get(reverse("project", args=[project.pk])).content.decode()
    assert "notes.txt was not added" in other and "alice" in other
    assert reverse("project_rejections_clear", args=[project.pk]) not in other
    assert login(bob).post(reverse("project_rejections_clear", args=[project.pk])).status_code == 403


def test_the_flash_points_to_the_kept_list_instead_of_repeating_it(project, alice):
    client = login(alice)
    response = _post(client, project, upload("notes.txt", b"not audio at all"))
    page = client.get(response["Location"]).content.decode()
    assert "1 file was not added; the reason is listed under “Not added”." in page
    assert page.count("notes.txt was not added") == 1


def test_clearing_the_list(project, alice):
    client = login(alice)
    _post(client, project, upload("notes.txt", b"not audio at all"))
    response = client.post(reverse("project_rejections_clear", args=[project.pk]), follow=True)
    assert "Not added" not in response.content.decode().split("</h1>", 1)[1].split("<footer", 1)[0].replace(
        "The list of files not added was cleared.", "")
    assert not UploadRejection.objects.exists()


def test_only_the_last_rejections_are_kept(project, alice):
    client = login(alice)
    for n in range(KEEP + 5):
        _post(client, project, upload(f"notes-{n}.txt", b"not audio at all"))
    assert UploadRejection.objects.count() == KEEP
    page = client.get(reverse("project", args=[project.pk])).content.decode()
    assert f"notes-{KEEP + 4}.txt" in page and "notes-0.txt" not in page


def test_rejection_reasons_are_in_the_uploaders_language(project, alice):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    client = login(alice)
    body = _post(client, project, upload("notes.txt", b"not audio at all"), json=True).json()
    [rejected] = body["rejected"]
    assert rejected["error"] != "This file is not an audio or video file that can be read."
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rejected["error"])
    page = client.get(reverse("project", args=[project.pk])).content.decode()
    assert rejected["error"] in page
