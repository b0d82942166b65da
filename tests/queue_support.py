"""Helpers for the upload and queue tests: small real media files, jobs in
any state, and a look into the django-q2 broker."""

from __future__ import annotations

import io
import wave
from datetime import timedelta

import numpy as np
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from portal.models import Project
from transcription.asr.engine import SegmentResult, TranscriptionResult
from transcription.models import Job, JobAttempt, JobStatus, MediaFile

RATE = 16000


def pcm16_wav(samples: np.ndarray, *, rate: int = RATE) -> bytes:
    """Float samples in [-1, 1] as a mono 16-bit WAV file."""
    pcm = (samples * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def tone_wav(seconds: float = 1.5, *, rate: int = RATE, freq: float = 440.0) -> bytes:
    """A mono 16-bit WAV tone."""
    t = np.arange(int(seconds * rate)) / rate
    return pcm16_wav(0.3 * np.sin(2 * np.pi * freq * t), rate=rate)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def make_job(project: Project, user: User | None, *, status: str = JobStatus.QUEUED, name: str = "clip.wav",
             seconds: float = 2.0, queued_ago: float = 0, store: bool = False, **fields) -> Job:
    """A job as the queue would hold it. With store=True the media is a real
    stored WAV the worker can decode."""
    media = MediaFile(project=project, uploaded_by=user, original_name=name, duration=seconds,
                      codec="pcm_s16le", container="wav")
    if store:
        data = tone_wav(seconds)
        media.size = len(data)
        media.file.save(name, ContentFile(data), save=False)
    else:
        media.file.name = f"media/{project.pk}/not-stored"
    media.save()
    now = timezone.now()
    defaults = {"queued_at": now - timedelta(seconds=queued_ago), "max_attempts": 3}
    if status == JobStatus.RUNNING:
        defaults.update(attempts=1, worker="test-host:1", started_at=now, heartbeat_at=now)
    defaults.update(fields)
    job = Job.objects.create(project=project, media=media, created_by=user, status=status, **defaults)
    if status == JobStatus.RUNNING:
        JobAttempt.objects.create(job=job, number=job.attempts, worker=job.worker, started_at=job.started_at)
    return job


def broker_size() -> int:
    """Wake-ups waiting for the ASR workers."""
    from django_q.brokers import get_broker

    from transcription.services.wakeups import asr_cluster

    return get_broker(asr_cluster()).queue_size()


def broker_take_one() -> dict:
    """Take the next task off the ASR broker queue (any broker) and decode it."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    from transcription.services.wakeups import asr_cluster

    packages = get_broker(asr_cluster()).dequeue() or []
    assert packages, "no task was queued"
    return SignedPackage.loads(packages[0][1])


def broker_purge() -> None:
    from django_q.brokers import get_broker

    from transcription.services.wakeups import asr_cluster

    get_broker(asr_cluster()).purge_queue()


def result(text: str = "hello") -> TranscriptionResult:
    """What the engine returns, for tests of what happens after it."""
    return TranscriptionResult(
        text=text, segments=[SegmentResult(index=0, start=0.0, end=1.0, text=text, speaker="")],
        audio_seconds=2.0, processing_seconds=0.1, models={"asr": "tiny-asr", "vad": "tiny-vad"},
    )


def outgoing_purge() -> None:
    from django_q.brokers import get_broker

    from portal.outgoing import outgoing_queue

    get_broker(outgoing_queue()).purge_queue()


def outgoing_size() -> int:
    """Tasks waiting for the outgoing cluster (webhook deliveries, email, notifications)."""
    from django_q.brokers import get_broker

    from portal.outgoing import outgoing_queue

    return get_broker(outgoing_queue()).queue_size()


def outgoing_run(*, most: int = 200) -> list[str]:
    """Run the tasks waiting on the outgoing queue here, one by one, as the outgoing cluster's
    workers would (tasks they queue included); returns their function names."""
    from django.test import TestCase
    from django.utils.module_loading import import_string
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    from portal.outgoing import outgoing_queue

    broker = get_broker(outgoing_queue())
    ran: list[str] = []
    while broker.queue_size() and len(ran) < most:
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            with TestCase.captureOnCommitCallbacks(execute=True):
                import_string(task["func"])(*task["args"], **task["kwargs"])
            broker.acknowledge(ack_id)
            ran.append(task["func"])
    return ran
