"""Running one job in a worker process: claim, decode, transcribe, write.

The engine module imports torch and funasr only when a model is built
(``get_engine()``, inside the forked worker), so this module is safe to
import anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
import traceback
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from transcription.asr import engine as asr_engine
from transcription.asr.audio import MediaError, decode
from transcription.asr.engine import Cancelled, EngineError
from transcription.job_states import Outcome, Stage
from transcription.models import Job, MediaFile
from transcription.services import job_lifecycle
from transcription.services.claim import job_claim, worker_name
from transcription.services.job_lifecycle import Beat
from transcription.services.reaper import jobs_reap_stale
from transcription.services.webhooks import webhook_deliveries_send_due

log = logging.getLogger(__name__)

# Progress shares of the stages before and after the engine's own progress.
_TRANSCRIBE_FROM, _TRANSCRIBE_TO = 5.0, 98.0


class _Heartbeat(threading.Thread):
    """Every JOB_HEARTBEAT_SECONDS: write heartbeat_at, progress and stage,
    and learn whether the user asked to cancel or the job was taken away."""

    def __init__(self, job: Job, worker: str) -> None:
        super().__init__(name=f"heartbeat-{job.pk}", daemon=True)
        self.job_id, self.worker, self.attempt = job.pk, worker, job.attempts
        self.progress = 0.0
        self.stage: str = Stage.STARTING
        self.state = Beat.OK
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        try:
            state = job_lifecycle.job_heartbeat(job_id=self.job_id, worker=self.worker, attempt=self.attempt,
                                               progress=self.progress, stage=self.stage)
        except Exception:  # a database hiccup must not kill the job; the reaper has the last word
            log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
            return
        if self.state is not Beat.LOST:
            self.state = state

    def set_stage(self, stage: str, progress: float) -> None:
        self.stage, self.progress = stage, progress
        self.beat()

    def on_progress(self, fraction: float) -> None:
        self.progress = _TRANSCRIBE_FROM + (_TRANSCRIBE_TO - _TRANSCRIBE_FROM) * max(0.0, min(1.0, fraction))

    def should_cancel(self) -> bool:
        return self.state is not Beat.OK

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)


@contextlib.contextmanager
def media_local_path(media: MediaFile) -> Iterator[str]:
    """A local path to the stored file: the file itself on local storage,
    a streamed temporary copy on S3 and the like."""
    storage = media.file.storage
    if not media.file.name or not storage.exists(media.file.name):
        raise FileNotFoundError(media.file.name)
    try:
        path = storage.path(media.file.name)
    except NotImplementedError:
        path = None
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="job-", suffix=".media") as tmp:
        with storage.open(media.file.name, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield tmp.name


def _hotwords(job: Job) -> list[str]:
    words = list(job.project.hotwords or []) + list((job.options or {}).get("hotwords") or [])
    return list(dict.fromkeys(w.strip() for w in words if isinstance(w, str) and w.strip()))


def _transcribe(job: Job, beat: _Heartbeat) -> Any:
    beat.set_stage(Stage.PREPARING, 1)
    try:
        with media_local_path(job.media) as path:
            beat.set_stage(Stage.DECODING, 2)
            audio = decode(path)
    except FileNotFoundError:
        raise MediaError(_("The uploaded file is missing from storage; please upload it again.")) from None
    if beat.should_cancel():  # no need to load a model for a job that is going away
        raise Cancelled()
    beat.set_stage(Stage.LOADING, 4)
    engine = asr_engine.get_engine()
    beat.set_stage(Stage.TRANSCRIBING, _TRANSCRIBE_FROM)
    result = engine.transcribe(audio, hotwords=_hotwords(job), progress=beat.on_progress,
                               should_cancel=beat.should_cancel)
    beat.set_stage(Stage.SAVING, 99)
    return result


def job_run(*, job: Job, worker: str) -> Outcome | None:
    """Run a job this worker has claimed, and record how it ended."""
    ids = {"job_id": job.pk, "worker": worker, "attempt": job.attempts}
    beat = _Heartbeat(job, worker)
    beat.start()
    try:
        result = _transcribe(job, beat)
    except Cancelled:
        if beat.state is Beat.LOST:
            return None
        return job_lifecycle.job_cancelled_by_worker(**ids)
    except MediaError as e:
        return job_lifecycle.job_fail(**ids, error=str(e), traceback=traceback.format_exc())
    except EngineError as e:
        log.warning("job %s: engine error (transient=%s): %s", job.pk, e.transient, e)
        return job_lifecycle.job_fail(**ids, error=str(e), traceback=traceback.format_exc(),
                                     transient=e.transient)
    except Exception:
        # Unknown failures (a bug, a full disk) are retried while attempts remain.
        log.exception("job %s failed unexpectedly", job.pk)
        return job_lifecycle.job_fail(
            **ids, error=_("Transcription failed because of an internal error; staff can see the details."),
            traceback=traceback.format_exc(), transient=True,
        )
    finally:
        beat.stop()
    return job_lifecycle.job_finish(**ids, result=result)


def job_run_next(*, worker: str | None = None) -> Any:
    """The body of the wake-up task: housekeeping, then at most one job."""
    worker = worker or worker_name()
    # Between jobs, so a busy queue cannot starve them behind hundreds of wake-ups.
    jobs_reap_stale()
    webhook_deliveries_send_due(limit=20)
    job = job_claim(worker=worker)
    if job is None:
        return None
    outcome = job_run(job=job, worker=worker)
    return {"job": str(job.pk), "outcome": outcome.value if outcome else "discarded"}
