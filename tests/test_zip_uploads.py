"""ZIP uploads: each media member becomes a job named by its path in the
archive; unsafe archives and zip bombs are refused before anything is
extracted; non-media members are skipped with a reason."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from tests.conftest import login
from tests.queue_support import tone_wav, upload
from transcription.models import Job, MediaFile

pytestmark = pytest.mark.django_db


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def post_zip(client, project, data: bytes, name: str = "batch.zip"):
    return client.post(f"/projects/{project.pk}/upload/", {"files": [upload(name, data)]},
                       HTTP_ACCEPT="application/json")


def test_each_media_member_becomes_a_job_named_by_its_path(project, alice, speech_variants):
    data = make_zip({
        "interviews/day 1/morning.wav": tone_wav(),
        "interviews/evening.mp3": speech_variants["mp3"].read_bytes(),
        "interviews/notes.txt": b"not audio",
        "__MACOSX/interviews/._morning.wav": b"\x00\x05\x16\x07",
        "interviews/.DS_Store": b"junk",
    })
    response = post_zip(login(alice), project, data)
    assert response.status_code == 201
    body = response.json()
    assert sorted(j["filename"] for j in body["jobs"]) == ["interviews/day 1/morning.wav", "interviews/evening.mp3"]
    # Files the operating system added are ignored silently; real non-media is listed.
    assert body["rejected"] == [{"filename": "batch.zip › interviews/notes.txt",
                                 "error": "This file is not an audio or video file that can be read."}]
    assert Job.objects.count() == 2
    stored = MediaFile.objects.get(original_name="interviews/day 1/morning.wav")
    assert stored.file.read() == tone_wav()


def test_names_from_chinese_windows_archives_are_decoded(project, alice):
    """Archives made on Chinese Windows store GBK names without the UTF-8 flag."""
    class GbkInfo(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's own name
            return "会议/第一天.wav".encode("gbk"), self.flag_bits

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(GbkInfo("gbk.wav"), tone_wav())
    body = post_zip(login(alice), project, buffer.getvalue()).json()
    assert [j["filename"] for j in body["jobs"]] == ["会议/第一天.wav"]


@pytest.mark.parametrize("evil", ["../escape.wav", "a/../../escape.wav", "/etc/cron.d/escape.wav",
                                  "C:/Windows/escape.wav", "..\\escape.wav"])
def test_unsafe_paths_reject_the_whole_archive(project, alice, evil):
    data = make_zip({"fine.wav": tone_wav(), evil: tone_wav()})
    response = post_zip(login(alice), project, data)
    assert response.status_code == 400
    [rejection] = response.json()["rejected"]
    assert rejection["filename"] == "batch.zip"
    assert "unsafe path" in rejection["error"] and "nothing was extracted" in rejection["error"]
    assert not MediaFile.objects.exists()


def test_symlinks_reject_the_whole_archive(project, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("fine.wav", tone_wav())
        link = zipfile.ZipInfo("link.wav")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    response = post_zip(login(alice), project, buffer.getvalue())
    assert "symbolic link" in response.json()["rejected"][0]["error"]
    assert not Job.objects.exists()


def test_a_zip_bomb_is_refused_before_extraction(project, alice):
    data = make_zip({"bomb.wav": b"\x00" * (50 * 1024 * 1024)})  # 50 MB of zeros in ~50 kB
    assert len(data) < 1024 * 1024
    response = post_zip(login(alice), project, data)
    error = response.json()["rejected"][0]["error"]
    assert "zip bomb" in error
    assert not MediaFile.objects.exists()


def test_too_many_members_are_refused(project, alice, settings):
    settings.ZIP_MAX_MEMBERS = 3
    data = make_zip({f"{i}.wav": tone_wav(0.2) for i in range(4)})
    error = post_zip(login(alice), project, data).json()["rejected"][0]["error"]
    assert error == "This ZIP file has 4 entries; at most 3 are allowed."
    assert not Job.objects.exists()


def test_too_much_uncompressed_data_is_refused(project, alice, settings):
    settings.ZIP_MAX_TOTAL_MB = 1
    data = make_zip({"a.wav": tone_wav(20), "b.wav": tone_wav(20)}, compression=zipfile.ZIP_STORED)  # 2 x 640 kB
    error = post_zip(login(alice), project, data).json()["rejected"][0]["error"]
    assert "at most 1 MB" in error
    assert not Job.objects.exists()


def test_a_damaged_member_is_skipped_and_the_others_kept(project, alice):
    good, bad = tone_wav(), tone_wav(freq=660)
    data = bytearray(make_zip({"good.wav": good, "bad.wav": bad}, compression=zipfile.ZIP_STORED))
    at = data.find(bad[2000:2016])
    data[at] ^= 0xFF  # flip a byte inside the stored member: its CRC no longer matches
    body = post_zip(login(alice), project, bytes(data)).json()
    assert [j["filename"] for j in body["jobs"]] == ["good.wav"]
    assert body["rejected"][0]["filename"] == "batch.zip › bad.wav"
    assert "damaged" in body["rejected"][0]["error"]


def test_a_zip_without_media_says_so(project, alice):
    body = post_zip(login(alice), project, make_zip({"readme.txt": b"hello"})).json()
    assert body["jobs"] == []
    assert {"filename": "batch.zip", "error": "This ZIP file contains no audio or video files."} in body["rejected"]


def test_encrypted_and_nested_zips_are_skipped_with_reasons(project, alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("fine.wav", tone_wav())
        zf.writestr("inner.zip", make_zip({"x.wav": tone_wav()}))
        zf.writestr("secret.wav", b"\x00" * 100)
    data = bytearray(buffer.getvalue())
    # Mark secret.wav encrypted in its local and central headers (zipfile cannot write encrypted members).
    at = data.find(b"secret.wav")
    while at != -1:
        for signature, flags_offset, name_offset in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
            if data[at - name_offset:at - name_offset + 4] == signature:
                data[at - name_offset + flags_offset] |= 0x1
        at = data.find(b"secret.wav", at + 1)
    body = post_zip(login(alice), project, bytes(data)).json()
    assert [j["filename"] for j in body["jobs"]] == ["fine.wav"]
    reasons = {r["filename"]: r["error"] for r in body["rejected"]}
    assert reasons["batch.zip › inner.zip"] == "ZIP files inside a ZIP file are not unpacked."
    assert "encrypted" in reasons["batch.zip › secret.wav"]


def test_a_damaged_zip_is_rejected(project, alice):
    data = make_zip({"a.wav": tone_wav()})
    response = post_zip(login(alice), project, data[: len(data) - 30])
    assert response.status_code == 400
    assert not Job.objects.exists()
