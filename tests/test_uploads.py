"""Uploading on the project page: every accepted file becomes a stored
MediaFile and a queued Job, every rejected one is listed with its reason,
validation is by decoding, and big files stream instead of filling memory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from tests.conftest import login
from tests.queue_support import broker_purge, broker_size, tone_wav, upload
from transcription.models import Job, JobStatus, MediaFile
from transcription.services.uploads import display_name

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def post(client: Client, project, *files, json: bool = False):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(f"/projects/{project.pk}/upload/", {"files": list(files)}, **headers)


def test_it_queues_every_uploaded_file(project, alice, speech_variants, django_capture_on_commit_callbacks):
    broker_purge()
    files = [upload("tone.wav", tone_wav()),
             upload("speech.mp3", speech_variants["mp3"].read_bytes()),
             upload("speech.m4a", speech_variants["m4a"].read_bytes())]
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, project, *files)
    assert response.status_code == 302
    jobs = Job.objects.filter(project=project).select_related("media")
    assert sorted(j.media.original_name for j in jobs) == ["speech.m4a", "speech.mp3", "tone.wav"]
    assert {j.status for j in jobs} == {JobStatus.QUEUED}
    assert all(j.created_by == alice and j.queued_at for j in jobs)
    assert broker_size() == 3  # one wake-up per job, sent after commit
    page = client.get(response["Location"]).content.decode()
    assert "3 files added to the queue." in page


def test_it_stores_files_under_generated_names(project, alice):
    post(login(alice), project, upload("Interview 1.wav", tone_wav()))
    media = MediaFile.objects.get()
    assert "Interview" not in media.file.name
    assert re.fullmatch(rf"media/{project.pk}/[0-9a-f]{{32}}", media.file.name)
    assert media.file.read() == tone_wav()
    assert media.size == len(tone_wav())
    assert media.duration == pytest.approx(1.5, abs=0.01)
    assert (media.container, media.codec) == ("wav", "pcm_s16le")


def test_it_records_video_files_as_video(project, alice, speech_variants):
    post(login(alice), project, upload("talk.mp4", speech_variants["mp4-video"].read_bytes()))
    assert MediaFile.objects.get().has_video


def test_it_lists_rejected_files_with_reasons_and_keeps_the_rest(project, alice, bad_inputs):
    files = [upload("good.wav", tone_wav())]
    files += [upload(path.name, path.read_bytes()) for path in bad_inputs.values()]
    client = login(alice)
    response = post(client, project, *files)
    page = client.get(response["Location"]).content.decode()
    assert Job.objects.count() == 1
    assert "1 file added to the queue." in page
    assert "notes.txt was not added: This file is not an audio or video file that can be read." in page
    assert "empty.wav was not added: This file is empty (0 bytes)." in page
    assert "silent-film.mp4 was not added: This file has no audio track." in page
    assert "cut-off.m4a was not added: This file looks like audio or video but is damaged" in page
    assert "zero-seconds.wav was not added" in page
    assert MediaFile.objects.count() == 1


def test_it_validates_by_content_not_by_name(project, alice):
    response = post(login(alice), project, upload("words.mp3", b"not audio at all " * 100, "audio/mpeg"),
                    upload("really-a-wav.txt", tone_wav(), "text/plain"), json=True)
    assert response.status_code == 201
    body = response.json()
    assert [j["filename"] for j in body["jobs"]] == ["really-a-wav.txt"]
    assert body["rejected"] == [{"filename": "words.mp3",
                                 "error": "This file is not an audio or video file that can be read."}]


def test_xhr_uploads_get_json_and_400_when_nothing_was_accepted(project, alice):
    response = post(login(alice), project, upload("notes.txt", b"hello"), json=True)
    assert response.status_code == 400
    assert response.json()["rejected"][0]["filename"] == "notes.txt"
    assert response.json()["jobs"] == []


def test_it_asks_for_files_when_none_were_chosen(project, alice):
    response = login(alice).post(f"/projects/{project.pk}/upload/", {}, follow=True)
    assert "Choose one or more files." in response.content.decode()


def test_it_rejects_files_over_the_size_limit_without_storing_them(project, alice, settings):
    settings.MAX_UPLOAD_MB = 1
    big = tone_wav(seconds=40)  # 1.28 MB
    response = post(login(alice), project, upload("long.wav", big), upload("short.wav", tone_wav()), json=True)
    body = response.json()
    assert body["rejected"] == [{"filename": "long.wav", "error": "This file is larger than the limit of 1 MB."}]
    assert [j["filename"] for j in body["jobs"]] == ["short.wav"]
    assert MediaFile.objects.count() == 1


def test_the_size_limit_stops_the_temporary_file_growing(project, alice, settings, monkeypatch):
    """The handler swallows the rest of an oversized file: nothing past the
    limit reaches the temporary upload file."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    settings.MAX_UPLOAD_MB = 1
    written: list[int] = []
    real_receive = TemporaryFileUploadHandler.receive_data_chunk

    def receive(self, raw_data, start):
        written.append(start + len(raw_data))
        return real_receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", receive)
    response = post(login(alice), project, upload("huge.wav", tone_wav(seconds=200)), json=True)  # 6.4 MB
    assert response.json()["rejected"][0]["error"] == "This file is larger than the limit of 1 MB."
    assert written and max(written) <= 1024 * 1024
    assert not MediaFile.objects.exists()


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd.wav", "passwd.wav"),
    ("C:\\Users\\me\\Desktop\\会议.m4a", "会议.m4a"),
    ("bell\x07\x00.wav", "bell.wav"),
    ("   ", "untitled"),
])
def test_file_names_are_kept_only_as_clean_display_text(raw, clean):
    assert display_name(raw) == clean


def test_very_long_names_are_shortened_keeping_the_extension():
    name = display_name("x" * 400 + ".wav")
    assert len(name) <= 255 and name.endswith(".wav")


def test_the_project_page_shows_the_upload_form_to_writers_only(project, alice, bob):
    page = login(alice).get(f"/projects/{project.pk}/").content.decode()
    assert 'name="files"' in page and "multiple" in page and "js/upload.js" in page
    assert f'action="/projects/{project.pk}/upload/"' in page
    viewer_page = login(bob).get(f"/projects/{project.pk}/").content.decode()
    assert 'name="files"' not in viewer_page and "upload.js" not in viewer_page


def test_viewers_get_403_outsiders_404_and_anonymous_the_login_page(project, bob, charlie, client):
    assert post(login(bob), project, upload("a.wav", tone_wav())).status_code == 403
    assert post(login(charlie), project, upload("a.wav", tone_wav())).status_code == 404
    response = post(client, project, upload("a.wav", tone_wav()))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Job.objects.exists()


def test_uploads_are_csrf_protected(project, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert post(client, project, upload("a.wav", tone_wav())).status_code == 403
    assert not Job.objects.exists()


# --- the import command ---------------------------------------------------------------------------

def test_import_turns_a_folder_tree_into_jobs(project, alice, tmp_path, capsys):
    (tmp_path / "day1").mkdir()
    (tmp_path / "day1" / "morning.wav").write_bytes(tone_wav())
    (tmp_path / "evening.wav").write_bytes(tone_wav(2))
    (tmp_path / "readme.txt").write_text("not audio")
    call_command("import", str(tmp_path), "--project", str(project.pk), "--user", "alice")
    out = capsys.readouterr().out
    jobs = Job.objects.select_related("media")
    assert sorted(j.media.original_name for j in jobs) == ["day1/morning.wav", "evening.wav"]
    assert {j.created_by for j in jobs} == {alice}
    assert "readme.txt: This file is not an audio or video file that can be read." in out
    assert "2 jobs queued, 1 file skipped" in out
    assert (tmp_path / "evening.wav").exists()  # the originals stay where they are
    # The same action as an upload: the project's rejections list and the audit log know of it.
    from portal.models import AuditEvent
    from transcription.models import UploadRejection

    assert list(UploadRejection.objects.filter(project=project).values_list("filename", flat=True)) == ["readme.txt"]
    event = AuditEvent.objects.get(action="media.upload")
    assert event.actor == alice and event.detail["via"] == "system" and event.detail["jobs"] == 2
    assert sorted(event.detail["files"]) == ["day1/morning.wav", "evening.wav"]


def test_import_refuses_an_unknown_project_or_user(project, tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No project"):
        call_command("import", str(tmp_path), "--project", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="No user"):
        call_command("import", str(tmp_path), "--project", str(project.pk), "--user", "nobody")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("import", str(tmp_path / "missing"), "--project", str(project.pk))


# --- memory ---------------------------------------------------------------------------------------

def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _multipart_file(path: Path, wav: Path, boundary: str) -> None:
    with path.open("wb") as out:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.wav"\r\n'
                  f"Content-Type: audio/wav\r\n\r\n".encode())
        with wav.open("rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        out.write(f"\r\n--{boundary}--\r\n".encode())


def _silent_wav(path: Path, megabytes: int) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        chunk = b"\x01\x00" * (1 << 19)
        for _ in range(megabytes):
            w.writeframes(chunk)


@pytest.mark.django_db(transaction=True)
def test_a_large_upload_streams_through_the_web_process(project, alice, worker_env, tmp_path):
    """A 300 MB upload through a real server process: its peak memory grows
    by far less than the file's size."""
    wav = tmp_path / "big.wav"
    _silent_wav(wav, 300)
    boundary = uuid.uuid4().hex
    body = tmp_path / "body"
    _multipart_file(body, wav, boundary)
    client = login(alice)
    session = client.cookies["sessionid"].value
    port = 18000 + os.getpid() % 1000
    env = {**worker_env, "FILE_UPLOAD_TEMP_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", "--nothreading",
                               f"127.0.0.1:{port}"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        web = requests.Session()
        web.cookies.set("sessionid", session)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                page = web.get(f"{base}/projects/{project.pk}/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert page.status_code == 200
        csrf = web.cookies["csrftoken"]
        headers = {"X-CSRFToken": csrf, "Accept": "application/json", "Referer": base,
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}
        # warm up every import (PyAV, the upload path) before taking the baseline
        warm = web.post(f"{base}/projects/{project.pk}/upload/", files={"files": ("t.wav", tone_wav())},
                        headers={"X-CSRFToken": csrf, "Accept": "application/json", "Referer": base})
        assert warm.status_code == 201
        baseline = _peak_rss_kb(server.pid)
        with body.open("rb") as data:
            response = web.post(f"{base}/projects/{project.pk}/upload/", data=data, headers=headers, timeout=300)
        assert response.status_code == 201, response.text
        growth_mb = (_peak_rss_kb(server.pid) - baseline) / 1024
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert growth_mb < 100, f"the web process grew by {growth_mb:.0f} MB"
    media = MediaFile.objects.get(original_name="big.wav")
    assert media.size == wav.stat().st_size
    assert media.duration == pytest.approx(300 * (1 << 20) / 32000, rel=0.01)
