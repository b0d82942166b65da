from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage

from portal.models import AuditEvent
from tests.conftest import login

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]


@pytest.fixture
def media(transcript):
    return transcript.job.media


def stored_bytes(media) -> bytes:
    with media.file.open("rb") as f:
        return f.read()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_range_request_gets_206_with_the_right_bytes(media, alice):
    data = stored_bytes(media)
    r = login(alice).get(f"/media/{media.id}/", HTTP_RANGE="bytes=100-1099")
    assert r.status_code == 206
    assert r["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert r["Content-Length"] == "1000" and r["Accept-Ranges"] == "bytes"
    assert r["Content-Type"] == "audio/wav"
    assert body(r) == data[100:1100]


def test_open_ended_and_suffix_ranges(media, alice):
    data = stored_bytes(media)
    c = login(alice)
    r = c.get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-")
    assert r.status_code == 206 and body(r) == data
    r = c.get(f"/media/{media.id}/", HTTP_RANGE=f"bytes={len(data) - 10}-")
    assert body(r) == data[-10:] and r["Content-Range"] == f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}"
    r = c.get(f"/media/{media.id}/", HTTP_RANGE="bytes=-500")
    assert r.status_code == 206 and body(r) == data[-500:]
    r = c.get(f"/media/{media.id}/", HTTP_RANGE=f"bytes=10-{len(data) * 2}")
    assert r.status_code == 206 and body(r) == data[10:]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=50-10", "bytes=-0", "bytes=abc", "bytes=1-x"])
def test_unsatisfiable_range_is_416(media, alice, header):
    size = len(stored_bytes(media))
    r = login(alice).get(f"/media/{media.id}/", HTTP_RANGE=header)
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{size}"


def test_whole_file_without_range(media, alice):
    data = stored_bytes(media)
    r = login(alice).get(f"/media/{media.id}/")
    assert r.status_code == 200 and body(r) == data
    for ignored in ("items=0-10", "bytes=0-1,5-9"):  # other units and multiple ranges: whole file
        r2 = login(alice).get(f"/media/{media.id}/", HTTP_RANGE=ignored)
        assert r2.status_code == 200 and body(r2) == data
    assert r["Accept-Ranges"] == "bytes" and r["Content-Length"] == str(len(data))
    assert r["Content-Disposition"].startswith("inline;")


def test_stale_if_range_gets_the_whole_file(media, alice):
    r = login(alice).get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"')
    assert r.status_code == 200
    etag = r["ETag"]
    r = login(alice).get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag)
    assert r.status_code == 206 and len(body(r)) == 10


def test_head_answers_headers_only(media, alice):
    r = login(alice).head(f"/media/{media.id}/", HTTP_RANGE="bytes=0-99")
    assert r.status_code == 206 and r["Content-Length"] == "100" and r.content == b""


def test_download_is_an_attachment_and_audited(media, bob):
    r = login(bob).get(f"/media/{media.id}/?download=1")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment;")
    assert "2024-05.wav" in r["Content-Disposition"]
    event = AuditEvent.objects.get(action="media.download")
    assert event.actor == bob and event.object_id == str(media.id)


def test_player_range_requests_are_not_logged_as_downloads(media, alice):
    login(alice).get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-")
    assert not AuditEvent.objects.filter(action="media.download").exists()


def test_outsider_gets_404(media, charlie):
    assert login(charlie).get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-10").status_code == 404


def test_post_is_not_allowed(media, alice):
    assert login(alice).post(f"/media/{media.id}/").status_code == 405


class PresigningStorage(FileSystemStorage):
    """A storage without local paths that hands out signed URLs, as S3 does."""

    def path(self, name):
        raise NotImplementedError

    def url(self, name, parameters=None, expire=None):
        disposition = (parameters or {}).get("ResponseContentDisposition", "")
        return f"https://bucket.example/{name}?X-Amz-Expires=600&disposition={disposition[:6]}"


def test_object_storage_redirects_to_a_presigned_url(media, alice, settings):
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "tests.test_media_range.PresigningStorage"}}
    media.refresh_from_db()
    r = login(alice).get(f"/media/{media.id}/", HTTP_RANGE="bytes=0-")
    assert r.status_code == 302
    assert r["Location"] == f"https://bucket.example/{media.file.name}?X-Amz-Expires=600&disposition=inline"
    assert r["Cache-Control"] == "private, no-store"
