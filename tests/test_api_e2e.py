"""End to end through the API: a real `manage.py qcluster` with the tiny FunASR
models and FunASR's real fsmn-vad transcribes two uploads; the transcript is read and exported."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import docx
import pytest
from rest_framework.test import APIClient

from tests.api_support import fresh_cache  # noqa: F401
from tests.asr_fixtures import read_wav, tiny_env, write_media

pytest_plugins = ["tests.asr_fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
# A guard against a hung worker, not a performance assertion.
GIVE_UP_AFTER_SECONDS = 300

SRT_CUE = re.compile(
    r"^(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n(.+)$", re.DOTALL)


def parse_srt(text: str) -> list[tuple[int, float, float, str]]:
    cues = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        match = SRT_CUE.match(block.strip())
        assert match, f"not an SRT cue: {block!r}"
        n, h1, m1, s1, ms1, h2, m2, s2, ms2, body = match.groups()
        start = int(h1) * 3600 + int(m1) * 60 + int(s1) + int(ms1) / 1000
        end = int(h2) * 3600 + int(m2) * 60 + int(s2) + int(ms2) / 1000
        cues.append((int(n), start, end, body.strip()))
    return cues


@pytest.fixture
def qcluster(worker_env, tiny_models, real_vad_dir, settings, tmp_path):
    """A real worker cluster on the test database, with the tiny models and the real VAD."""
    settings.MEDIA_ROOT = tmp_path / "media"
    env = {**worker_env, **tiny_env(tiny_models), "ASR_VAD_MODEL": str(real_vad_dir),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "JOB_HEARTBEAT_SECONDS": "1"}
    log = open(tmp_path / "qcluster.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process, tmp_path / "qcluster.log"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
        log.close()


def test_it_transcribes_uploads_end_to_end(qcluster, alice, speech, tmp_path):
    process, log_path = qcluster
    client = APIClient()
    r = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")

    team = client.post("/api/v1/teams/", {"name": "Newsroom"}, format="json").json()
    r = client.post("/api/v1/projects/", {"team": team["id"], "name": "Interviews", "hotwords": ["test"]},
                    format="json")
    assert r.status_code == 201
    project = r.json()

    samples = read_wav(speech[0])
    short = write_media(tmp_path / "short.flac", samples[: len(samples) // 2], "flac")
    with open(speech[0], "rb") as full, open(short, "rb") as half:
        r = client.post(f"/api/v1/projects/{project['id']}/uploads/", {"file": [full, half]}, format="multipart")
    assert r.status_code == 201, r.content
    assert r.json()["rejected"] == []
    uploaded = {j["id"]: j["filename"] for j in r.json()["jobs"]}
    assert sorted(uploaded.values()) == ["short.flac", "speech.wav"]

    deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
    while True:
        page = client.get(f"/api/v1/jobs/?project={project['id']}").json()
        statuses = {j["id"]: j["status"] for j in page["results"]}
        assert set(statuses) == set(uploaded)
        failed = [j for j in page["results"] if j["status"] in ("failed", "cancelled")]
        assert not failed, failed
        if all(s == "succeeded" for s in statuses.values()):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"jobs did not finish: {statuses}\n{log_path.read_text(errors='replace')[-5000:]}")
        time.sleep(0.5)

    for job_id, filename in uploaded.items():
        job = client.get(f"/api/v1/jobs/{job_id}/").json()
        assert job["progress"] == 100 and job["attempts"] == 1 and job["transcript"]
        assert job["audio_seconds"] > 0 and job["finished_at"] and job["queue_position"] is None

        r = client.get(f"/api/v1/transcripts/{job['transcript']}/")
        assert r.status_code == 200
        transcript = r.json()
        segments = transcript["segments"]
        assert transcript["job"] == job_id and transcript["review_status"] == "draft"
        assert segments and transcript["text"]
        assert [s["index"] for s in segments] == list(range(len(segments)))
        for s in segments:
            assert 0 <= s["start"] < s["end"] <= job["audio_seconds"] + 0.01 and s["text"]

        r = client.get(f"/api/v1/transcripts/{transcript['id']}/export/?format=srt")
        assert r.status_code == 200
        stem = filename.rsplit(".", 1)[0]
        assert r["Content-Disposition"] == f'attachment; filename="{stem}.srt"'
        cues = parse_srt(r.content.decode("utf-8"))
        assert [c[0] for c in cues] == list(range(1, len(segments) + 1))
        for (_n, start, end, body), s in zip(cues, segments, strict=True):
            assert abs(start - s["start"]) < 0.002 and abs(end - s["end"]) < 0.002
            assert body == s["text"]

        r = client.get(f"/api/v1/transcripts/{transcript['id']}/export/?format=docx&timestamps=1")
        assert r.status_code == 200
        document = docx.Document(io.BytesIO(r.content))
        body = "\n".join(p.text for p in document.paragraphs)
        assert document.core_properties.title and filename in body
        for s in segments:
            assert s["text"] in body

    # The longer file holds all four sentences, the half file fewer.
    counts = {}
    for job_id, filename in uploaded.items():
        transcript_id = client.get(f"/api/v1/jobs/{job_id}/").json()["transcript"]
        counts[filename] = len(client.get(f"/api/v1/transcripts/{transcript_id}/").json()["segments"])
    assert counts["speech.wav"] > counts["short.flac"] >= 1
