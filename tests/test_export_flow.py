"""Project export in one click: a ZIP built during the request downloads at
once; a background one emails the requester and shows a notice on the
project page until it is downloaded. Entries in the ZIP can always be told
apart: ZIP members keep their folders, and memo.wav / memo.ogg become
memo.wav.txt / memo.ogg.txt."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import login
from tests.queue_support import broker_purge, broker_take_one
from transcription import tasks
from transcription.models import ExportStatus, ProjectExport
from transcription.services.filenames import archive_names

pytest_plugins = ["tests.transcript_factory"]
pytestmark = pytest.mark.django_db


def _zip_names(response) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return sorted(zipfile.ZipFile(io.BytesIO(body)).namelist())


def test_a_small_export_downloads_with_the_first_click(project, alice, new_transcript):
    new_transcript(project, user=alice, name="memo.wav")
    new_transcript(project, user=alice, name="memo.ogg")
    new_transcript(project, user=alice, name="2024/a/interview.wav")
    new_transcript(project, user=alice, name="2024/b/interview.wav")
    client = login(alice)
    response = client.post(reverse("project_exports", args=[project.pk]), {"format": "txt"}, follow=True)
    export = ProjectExport.objects.get()
    download = reverse("project_export_download", args=[export.pk])
    # The page it lands on starts the download and already lists the new export.
    html = response.content.decode()
    assert f'<meta http-equiv="refresh" content="0; url={download}">' in html
    assert html.count(f'href="{download}"') == 2  # the "is ready" notice and the row of "Recent exports"
    response = client.get(download)
    assert response["Content-Type"] == "application/zip" and "attachment" in response["Content-Disposition"]
    assert _zip_names(response) == ["2024/a/interview.txt", "2024/b/interview.txt", "memo.ogg.txt", "memo.wav.txt"]
    export.refresh_from_db()
    assert export.downloaded_at is not None
    # Nothing left to remind anyone of, and reloading the page does not download it again.
    assert "is ready." not in client.get(reverse("project", args=[project.pk])).content.decode()
    again = client.get(f"{reverse('project_exports', args=[project.pk])}?download={export.pk}").content.decode()
    assert 'http-equiv="refresh"' not in again and f'href="{download}"' in again


def test_only_the_requesters_unseen_export_starts_by_itself(project, alice, bob, transcript):
    login(alice).post(reverse("project_exports", args=[project.pk]), {"format": "txt"})
    export = ProjectExport.objects.get()
    page = reverse("project_exports", args=[project.pk])
    assert 'http-equiv="refresh"' not in login(bob).get(f"{page}?download={export.pk}").content.decode()
    assert login(alice).get(f"{page}?download=not-an-id").status_code == 200


def test_a_background_export_emails_and_is_announced_until_downloaded(project, alice, bob, transcript, settings,
                                                                        django_capture_on_commit_callbacks):
    settings.PROJECT_EXPORT_INLINE_MAX = 0
    broker_purge()
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("project_exports", args=[project.pk]), {"format": "docx"})
    assert response.status_code == 302
    export = ProjectExport.objects.get()
    assert export.status == ExportStatus.PENDING and not mail.outbox
    assert tasks.build_project_export(*broker_take_one()["args"]) == "ready"

    [message] = mail.outbox
    assert message.to == ["alice@example.org"] and "Interviews" in message.subject
    download = reverse("project_export_download", args=[export.pk])
    assert download in message.body

    for page in (reverse("project", args=[project.pk]), reverse("project_exports", args=[project.pk])):
        html = client.get(page).content.decode()
        assert "Your DOCX export from" in html and f'href="{download}"' in html
    # Only the person who asked for it is reminded.
    assert "Your DOCX export" not in login(bob).get(reverse("project", args=[project.pk])).content.decode()

    assert client.get(download).status_code == 200
    assert "Your DOCX export" not in client.get(reverse("project", args=[project.pk])).content.decode()


def test_a_failed_background_export_says_so_by_email(project, alice, transcript, settings,
                                                     django_capture_on_commit_callbacks):
    settings.PROJECT_EXPORT_INLINE_MAX = 0
    broker_purge()
    with django_capture_on_commit_callbacks(execute=True):
        login(alice).post(reverse("project_exports", args=[project.pk]), {"format": "txt"})
    settings.SCRATCH_DIR = "/nonexistent/scratch"  # the build cannot write its ZIP
    assert tasks.build_project_export(*broker_take_one()["args"]) == "failed"
    [message] = mail.outbox
    assert "failed" in message.subject.lower() and "could not be built" in message.body


@pytest.mark.parametrize(("originals", "names"), [
    (["memo.wav", "memo.ogg"], ["memo.wav.txt", "memo.ogg.txt"]),
    (["memo.wav", "talk.mp3"], ["memo.txt", "talk.txt"]),
    (["a/memo.wav", "b/memo.wav"], ["a/memo.txt", "b/memo.txt"]),
    (["memo.wav", "MEMO.wav"], ["memo.txt", "MEMO (2).txt"]),
    (["会议/录音.m4a", "会议/录音.mp3"], ["会议/录音.m4a.txt", "会议/录音.mp3.txt"]),
    (["x/CON.wav"], ["x/_CON.txt"]),
])
def test_export_entry_names_never_collide_ambiguously(originals, names):
    assert archive_names(originals, "txt") == names
