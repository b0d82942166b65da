"""Recording in the browser: the project page's recorder captures the
microphone (Chromium's fake capture device here), and the recording is
uploaded like any file and queued as a job under a sensible name. The
server accepts what MediaRecorder makes: WebM with Opus audio and no
duration in its header (a live stream)."""

from __future__ import annotations

import io
import os
import re
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest

# Playwright's sync API runs an event loop; the ORM is still used from this thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect  # noqa: E402

from portal.models import Profile  # noqa: E402
from tests.browser_support import chromium, sign_in  # noqa: E402
from tests.conftest import login  # noqa: E402
from tests.queue_support import upload  # noqa: E402
from transcription.job_states import JobStatus  # noqa: E402
from transcription.models import Job  # noqa: E402

pytest_plugins = ["tests.transcript_factory"]
needs_chromium = pytest.mark.skipif(not shutil.which("chromium") and not os.path.exists("/usr/bin/chromium"),
                                    reason="Debian chromium is not installed")
FAKE_MIC = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
NAME = re.compile(r"Recording \d{4}-\d\d-\d\d \d\d-\d\d\.webm")


def webm_opus(seconds: float = 3.0, *, rate: int = 48000, live: bool = True) -> bytes:
    """WebM/Opus as MediaRecorder writes it: a live stream, no duration or cues in the header."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"} if live else {}) as out:
        stream = out.add_stream("libopus", rate=rate)
        stream.layout = "mono"
        t = np.arange(int(seconds * rate)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + 960], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


@pytest.mark.django_db
def test_a_webm_opus_recording_uploads_like_any_file(project, alice, media_root):
    response = login(alice).post(f"/projects/{project.pk}/upload/",
                                 {"files": [upload("Recording 2026-12-02 17-30.webm", webm_opus(), "audio/webm")]},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 201, response.json()
    job = Job.objects.select_related("media").get()
    assert job.status == JobStatus.QUEUED
    assert job.media.original_name == "Recording 2026-12-02 17-30.webm"
    assert job.media.container.startswith("matroska") or "webm" in job.media.container
    assert job.media.codec == "opus"
    assert job.media.duration == pytest.approx(3.0, abs=0.1)


@pytest.mark.django_db
def test_a_recording_name_is_only_sanitised(project, alice, media_root):
    """A client's name is display text: path parts and control characters go."""
    login(alice).post(f"/projects/{project.pk}/upload/",
                      {"files": [upload("../../etc/Recording\x00 2026.webm", webm_opus(1.0), "audio/webm")]},
                      HTTP_ACCEPT="application/json")
    media = Job.objects.select_related("media").get().media
    assert media.original_name == "Recording 2026.webm"
    assert "Recording" not in media.file.name


@pytest.fixture
def mic_browser():
    with chromium(*FAKE_MIC) as browser:
        yield browser


def start_recording(page, base_url: str, project) -> None:
    sign_in(page, base_url, "alice")
    page.goto(f"{base_url}/projects/{project.pk}/")
    page.locator("#recorder > summary").click()
    page.locator("[data-rec-start]").click()


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_it_records_with_the_microphone_and_queues_a_job(live_server, mic_browser, project, alice, media_root):
    # The name's date and time are in Alice's time zone (UTC+14), not the browser's (UTC here).
    Profile.objects.update_or_create(user=alice, defaults={"timezone": "Pacific/Kiritimati"})
    page = mic_browser.new_page()
    start_recording(page, live_server.url, project)
    expect(page.locator("[data-rec-status]")).to_have_text("Recording…")
    page.wait_for_function("() => document.querySelector('[data-rec-level]').value > 0", timeout=10000)
    expect(page.locator("[data-rec-time]")).to_have_text("0:02", timeout=10000)
    page.locator("[data-rec-pause]").click()
    expect(page.locator("[data-rec-status]")).to_have_text("Paused")
    page.locator("[data-rec-resume]").click()
    expect(page.locator("[data-rec-time]")).to_have_text("0:03", timeout=10000)
    page.locator("[data-rec-stop]").click()

    # The same progress list as any upload, then the job in the table.
    expect(page.locator("[data-upload-list] li.done")).to_have_count(1, timeout=20000)
    expect(page.locator("[data-upload-list] li .name")).to_have_text(NAME)
    expect(page.locator("#jobs").get_by_text(NAME)).to_be_visible(timeout=15000)
    job = Job.objects.select_related("media").get()
    assert job.status == JobStatus.QUEUED and NAME.fullmatch(job.media.original_name)
    named = datetime.strptime(job.media.original_name[len("Recording "):-len(".webm")], "%Y-%m-%d %H-%M")
    there = datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None)
    assert abs(there - named) < timedelta(minutes=3), (named, there)
    assert job.media.codec == "opus" and job.media.duration == pytest.approx(3.0, abs=1.0)


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_discarding_a_recording_uploads_nothing(live_server, mic_browser, project, alice, media_root):
    page = mic_browser.new_page()
    start_recording(page, live_server.url, project)
    expect(page.locator("[data-rec-time]")).to_have_text("0:01", timeout=10000)
    page.once("dialog", lambda d: d.accept())
    page.locator("[data-rec-discard]").click()
    expect(page.locator("[data-rec-start]")).to_be_visible()
    expect(page.locator("[data-rec-time]")).to_have_text("0:00")
    expect(page.locator("[data-upload-list] li")).to_have_count(0)
    assert not Job.objects.exists()


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_a_blocked_microphone_gets_a_clear_message(live_server, project, alice, media_root):
    with chromium() as browser:
        page = browser.new_context().new_page()  # no permission granted: headless denies it
        start_recording(page, live_server.url, project)
        expect(page.locator("[data-rec-error]")).to_be_visible(timeout=10000)
        expect(page.locator("[data-rec-error]")).to_contain_text("microphone")
        expect(page.locator("[data-rec-start]")).to_be_enabled()
