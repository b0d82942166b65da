"""Helpers for the API tests (tests/test_api_*.py): token clients, jobs and
transcripts as rows, and a fresh cache namespace per test so throttle counts
never leak between tests (without flushing a Redis that the broker shares)."""

from __future__ import annotations

import io
import uuid
import wave
import zipfile

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import token_create
from portal.actor import Actor  # noqa: E402
from portal.models import Project
from transcription.models import Job, JobStatus, MediaFile, Segment, Transcript


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex}"}}


def api(user: User | None = None) -> APIClient:
    """A client that authenticates like a script: ``Authorization: Token <key>``."""
    client = APIClient()
    if user is not None:
        _token, key = token_create(actor=Actor.of(user), user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def make_job(project: Project, user: User, *, status: str = JobStatus.QUEUED,
             filename: str = "interview.wav", **fields) -> Job:
    media = MediaFile.objects.create(project=project, uploaded_by=user, file=f"media/{project.pk}/x",
                                     original_name=filename, size=1000, duration=12.5)
    now = timezone.now()
    if status != JobStatus.QUEUED:
        fields.setdefault("started_at", now)
    if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        fields.setdefault("finished_at", now)
    return Job.objects.create(project=project, media=media, created_by=user, status=status,
                              queued_at=now, **fields)


def make_transcript(project: Project, user: User, **fields) -> Transcript:
    job = make_job(project, user, status=JobStatus.SUCCEEDED, progress=100, attempts=1,
                   audio_seconds=6.0, processing_seconds=1.5)
    transcript = Transcript.objects.create(job=job, text="你好世界。Hello there.", audio_seconds=6.0,
                                           **fields)
    Segment.objects.create(transcript=transcript, index=0, start=0.0, end=2.5, text="你好世界。",
                           speaker="spk0")
    Segment.objects.create(transcript=transcript, index=1, start=2.5, end=6.0, text="Hello there.",
                           speaker="spk1")
    return transcript


MISSING = "00000000-0000-4000-8000-000000000000"


def wav_bytes(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A short 440 Hz tone as a 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()
