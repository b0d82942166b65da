"""One heartbeat thread per worker, for every job the worker holds (the
batch in the model and the one being prefetched): it writes heartbeat_at,
progress and stage every JOB_HEARTBEAT_SECONDS, and learns which jobs the
user asked to cancel and which were taken away (reaped)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from transcription.job_states import Stage
from transcription.models import Job
from transcription.services.job_lifecycle import Beat, job_heartbeat

log = logging.getLogger(__name__)


@dataclass
class _Held:
    attempt: int
    stage: str = Stage.STARTING
    progress: float = 0.0
    state: Beat = Beat.OK


class Heartbeats(threading.Thread):
    def __init__(self, worker: str) -> None:
        super().__init__(name=f"heartbeats-{worker}", daemon=True)
        self.worker = worker
        self._held: dict[Any, _Held] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    # -- the jobs held -----------------------------------------------------------------------------

    def hold(self, jobs: list[Job]) -> None:
        """Start beating for freshly claimed jobs, and learn at once whether
        any was cancelled between the claim and now."""
        with self._lock:
            for job in jobs:
                self._held[job.pk] = _Held(attempt=job.attempts)
        for job in jobs:
            self._beat(job.pk)

    def refresh(self, job_ids: list[Any]) -> None:
        """Beat now for these jobs, to learn of cancels before they enter the model."""
        for job_id in job_ids:
            self._beat(job_id)

    def held(self) -> list[tuple[Any, int]]:
        """(job id, attempt) of every job held now."""
        with self._lock:
            return [(job_id, held.attempt) for job_id, held in self._held.items()]

    def release(self, job_id: Any) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def set(self, job_id: Any, *, stage: str | None = None, progress: float | None = None,
            now: bool = False) -> None:
        with self._lock:
            held = self._held.get(job_id)
            if held is None:
                return
            if stage is not None:
                held.stage = stage
            if progress is not None:
                held.progress = progress
        if now:
            self._beat(job_id)

    def state(self, job_id: Any) -> Beat:
        with self._lock:
            held = self._held.get(job_id)
            return held.state if held is not None else Beat.LOST

    def should_stop(self, job_id: Any) -> bool:
        """Cancelled by its user, or no longer this worker's."""
        return self.state(job_id) is not Beat.OK

    # -- the thread --------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                with self._lock:
                    held = list(self._held)
                for job_id in held:
                    self._beat(job_id)
        finally:
            connection.close()  # this thread's own connection

    def _beat(self, job_id: Any) -> None:
        with self._lock:
            held = self._held.get(job_id)
            if held is None:
                return
            attempt, stage, progress = held.attempt, held.stage, held.progress
        try:
            state = job_heartbeat(job_id=job_id, worker=self.worker, attempt=attempt, progress=progress, stage=stage)
        except Exception:  # a database hiccup must not kill the job; the reaper has the last word
            log.warning("heartbeat for job %s failed", job_id, exc_info=True)
            return
        with self._lock:
            held = self._held.get(job_id)
            if held is not None and held.state is not Beat.LOST:
                held.state = state

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)
