"""Finished transcripts for workspace tests, built the way the worker leaves
them: a stored media file (a real, small WAV), a succeeded job, a transcript
and its timed segments (Chinese and English, two speakers).

Enable with ``pytest_plugins = ["tests.transcript_factory"]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone

from portal.models import Project
from tests.queue_support import pcm16_wav
from transcription.models import Job, JobStatus, MediaFile, Segment, Transcript

SEGMENTS: list[tuple[float, float, str, str]] = [
    (0.0, 1.2, "大家好，欢迎参加今天的会议。", "spk0"),
    (1.2, 2.5, "我们先讨论预算问题。", "spk1"),
    (2.5, 3.4, "The budget is 1,000 dollars.", "spk0"),
    (3.4, 4.0, "會議結束，謝謝大家。", "spk1"),
]


def wav_bytes(seconds: float = 4.0, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV: a rising tone, so every byte range differs."""
    t = np.arange(int(seconds * rate)) / rate
    return pcm16_wav(0.3 * np.sin(2 * np.pi * (220 + 110 * t) * t), rate=rate)


def make_transcript(project: Project, *, user: User | None = None, name: str = "会议录音 2024-05.wav",
                    segments: list[tuple[float, float, str, str]] | None = None,
                    speaker_names: dict[str, str] | None = None, seconds: float = 4.0) -> Transcript:
    segments = SEGMENTS if segments is None else segments
    audio = wav_bytes(seconds)
    media = MediaFile(project=project, uploaded_by=user, original_name=name, size=len(audio),
                      duration=seconds, codec="pcm_s16le", container="wav", has_video=False)
    media.file.save(name, ContentFile(audio), save=False)
    media.save()
    now = timezone.now()
    job = Job.objects.create(project=project, media=media, created_by=user, status=JobStatus.SUCCEEDED,
                             progress=100, attempts=1, queued_at=now, started_at=now, finished_at=now,
                             audio_seconds=seconds, processing_seconds=0.5, engine="paraformer-zh")
    transcript = Transcript.objects.create(
        job=job, text="".join(s[2] for s in segments), language="zh", audio_seconds=seconds,
        speaker_names=speaker_names or {},
    )
    Segment.objects.bulk_create(
        Segment(transcript=transcript, index=i, start=start, end=end, text=text, speaker=speaker)
        for i, (start, end, text, speaker) in enumerate(segments)
    )
    return Transcript.objects.select_related("job__media", "job__project__team").get(pk=transcript.pk)


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    """Stored files go to a per-test folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def transcript(project: Project, alice: User, media_root: Path) -> Transcript:
    return make_transcript(project, user=alice)


@pytest.fixture
def new_transcript(media_root: Path):  # noqa: ANN201 - returns make_transcript
    """``new_transcript(project, name=..., segments=..., speaker_names=...)``."""
    return make_transcript
