"""Running jobs in a worker process, a batch at a time.

A batch is claimed in fair order (claim.jobs_claim_batch). Each file is
fetched, decoded and run through the VAD on its own (``BatchRunner.prepare``:
a file that cannot be read fails alone), then the batch goes through the ASR
model in one engine call (``BatchRunner.recognize``) and each result is
written in its own transaction. An engine error on the batch retries its jobs
one by one before failing any of them; cancelling one job drops it at the
next batch boundary of the engine without touching the others.

``worker_drain`` keeps claiming until nothing is queued. With prefetch on,
the next batch is claimed and prepared on a second thread while the current
one is in the model, so decoding and VAD overlap the ASR; at most one batch
is prefetched, claimed when the current one enters the model.

The engine module imports torch and funasr only when a model is built
(``get_engine()``, inside the forked worker), so this module is safe to
import anywhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from transcription.asr import engine as asr_engine
from transcription.asr.audio import MediaError, decode
from transcription.asr.engine import Cancelled, EngineConfigError, EngineError, Prepared, TranscriptionResult
from transcription.job_states import Outcome, Stage
from transcription.models import Job, MediaFile
from transcription.services import job_lifecycle
from transcription.services.claim import alone_waiting, jobs_claim_batch
from transcription.services.heartbeats import Heartbeats
from transcription.services.job_lifecycle import Beat
from transcription.services.job_options import job_hotwords, job_preset, job_speakers

log = logging.getLogger(__name__)

# Progress shares: fetching and decoding up to 4 %, the model from 5 % to 98 %.
_MODEL_FROM, _MODEL_TO = 5.0, 98.0

# A claim and a stop's hand-back never interleave in one process: a claim that
# checked "not stopping" just before the stop would otherwise commit after the
# hand-back, and its jobs would wait for the reaper once the process exits.
_claiming = threading.Lock()


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
    with scratch_file() as (tmp, tmp_path):
        with storage.open(media.file.name, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield tmp_path


@contextlib.contextmanager
def scratch_file() -> Iterator[tuple[Any, str]]:
    """(file, path) in SCRATCH_DIR. On Linux the file has no name at all
    (opened through /proc/self/fd), so a killed worker leaves nothing behind."""
    with tempfile.TemporaryFile(prefix="job-", suffix=".media", dir=settings.SCRATCH_DIR) as tmp:
        proc_path = f"/proc/self/fd/{tmp.fileno()}"
        if os.path.exists(proc_path):
            yield tmp, proc_path
            return
    with tempfile.NamedTemporaryFile(prefix="job-", suffix=".media", dir=settings.SCRATCH_DIR) as named:
        yield named, named.name


def _test_crash_hook(job: Job) -> None:
    """Test-only: tests/settings.py sets TEST_CRASH_ON_FILE_NAME (from the environment) so a cluster
    test can make a "poison" file kill its worker the way an out-of-memory kill would. The portal's
    settings never define it, so this does nothing in a deployment."""
    poison = getattr(settings, "TEST_CRASH_ON_FILE_NAME", "")
    if poison and poison in job.media.original_name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class _Ready:
    job: Job
    prepared: Prepared


@dataclass
class BatchRunner:
    """Runs claimed jobs through the engine; ``outcomes`` says how each ended
    (None: the job was no longer this worker's when it finished)."""

    worker: str
    beats: Heartbeats
    outcomes: dict[Any, Outcome | None] = field(default_factory=dict)
    # The worker is shutting down: the model stops at the next segment and the jobs are left to
    # the hand-back (never cancelled), so the process can exit within seconds.
    stopping: Callable[[], bool] = lambda: False

    # -- endings ------------------------------------------------------------------------------------

    def _ids(self, job: Job) -> dict[str, Any]:
        return {"job_id": job.pk, "worker": self.worker, "attempt": job.attempts}

    def _end(self, job: Job, outcome: Outcome | None) -> None:
        self.outcomes[job.pk] = outcome
        self.beats.release(job.pk)

    def _fail(self, job: Job, error: str, *, transient: bool, tb: str = "") -> None:
        self._end(job, job_lifecycle.job_fail(**self._ids(job), error=error, traceback=tb or traceback.format_exc(),
                                              transient=transient))

    def _fail_engine(self, job: Job, e: EngineError) -> None:
        if isinstance(e, EngineConfigError):  # the deployment, not the file: staff see the details
            self._end(job, job_lifecycle.job_fail(**self._ids(job), error=str(e), not_set_up=True))
        else:
            self._fail(job, str(e), transient=e.transient)

    def _fail_unexpected(self, job: Job) -> None:
        # Unknown failures (a bug, a full disk) are retried while attempts remain.
        log.exception("job %s failed unexpectedly", job.pk)
        self._fail(job, _("Transcription failed because of an internal error; staff can see the details."),
                   transient=True)

    def _dropped(self, job: Job) -> bool:
        """End a job that was cancelled or taken away before it reached the model."""
        state = self.beats.state(job.pk)
        if state is Beat.OK:
            return False
        self._end(job, job_lifecycle.job_cancelled_by_worker(**self._ids(job)) if state is Beat.CANCEL else None)
        return True

    # -- stage 1: fetch, decode, VAD (any thread) ---------------------------------------------------

    def prepare(self, jobs: list[Job]) -> list[_Ready]:
        ready: list[_Ready] = []
        for n, job in enumerate(jobs):
            if self._dropped(job):
                continue
            self.beats.set(job.pk, stage=Stage.PREPARING, progress=1)
            try:
                with media_local_path(job.media) as path:
                    self.beats.set(job.pk, stage=Stage.DECODING, progress=2)
                    _test_crash_hook(job)
                    audio = decode(path)
            except FileNotFoundError:
                self._fail(job, _("The uploaded file is missing from storage; please upload it again."),
                           transient=False)
                continue
            except MediaError as e:
                self._fail(job, str(e), transient=False)
                continue
            except Exception:
                self._fail_unexpected(job)
                continue
            if self._dropped(job):  # no need to load a model for a job that is going away
                continue
            self.beats.set(job.pk, stage=Stage.LOADING, progress=3)
            try:
                engine = asr_engine.get_engine(job_preset(job.options))
            except EngineError as e:
                # The deployment cannot load its models: nothing in this batch can run.
                log.error("speech recognition is not set up (%d job(s) failed); `manage.py asr_models check` "
                          "says more:\n%s", len(jobs) - n, e)
                for rest in jobs[n:]:
                    self._fail_engine(rest, e)
                return ready
            try:
                prepared = engine.prepare(audio)
            except EngineError as e:
                self._fail_engine(job, e)
                continue
            except Exception:
                self._fail_unexpected(job)
                continue
            self.beats.set(job.pk, stage=Stage.WAITING, progress=4)
            ready.append(_Ready(job, prepared))
        return ready

    # -- stage 2: the model, then one transaction per result ----------------------------------------

    def recognize(self, batch: list[_Ready], *, on_model: Callable[[], None] | None = None) -> None:
        self.beats.refresh([item.job.pk for item in batch])  # a prefetched job may have been cancelled since
        batch = [item for item in batch if not self._dropped(item.job)]
        if not batch:
            return
        first = batch[0].job
        # a batch shares its engine options (batch_key), so the first job's stand for all
        hotwords = job_hotwords(project_hotwords=first.project.hotwords, options=first.options)
        engine_options = {"hotwords": hotwords, "speakers": job_speakers(first.options)}
        for item in batch:
            self.beats.set(item.job.pk, stage=Stage.TRANSCRIBING, progress=_MODEL_FROM, now=True)
        if on_model is not None:
            on_model()

        def progress(i: int, fraction: float) -> None:
            self.beats.set(batch[i].job.pk, progress=_MODEL_FROM + (_MODEL_TO - _MODEL_FROM) * fraction)

        try:
            results = asr_engine.get_engine(job_preset(first.options)).recognize(
                [item.prepared for item in batch], **engine_options, progress=progress,
                cancelled=lambda i: self.stopping() or self.beats.should_stop(batch[i].job.pk))
        except Exception as e:
            if len(batch) > 1:
                log.warning("a batch of %d jobs failed (%s); trying them one by one", len(batch), e)
                for item in batch:
                    self.recognize([item])
            elif isinstance(e, EngineError):
                log.warning("job %s: engine error (transient=%s): %s", first.pk, e.transient, e)
                self._fail_engine(first, e)
            else:
                self._fail_unexpected(first)
            return
        for item, result in zip(batch, results, strict=True):
            self._write(item.job, result)

    def _write(self, job: Job, result: TranscriptionResult | Cancelled) -> None:
        if isinstance(result, Cancelled):
            lost = self.stopping() or self.beats.state(job.pk) is Beat.LOST
            self._end(job, None if lost else job_lifecycle.job_cancelled_by_worker(**self._ids(job)))
            return
        self.beats.set(job.pk, stage=Stage.SAVING, progress=99)
        try:
            self._end(job, job_lifecycle.job_finish(**self._ids(job), result=result))
        except Exception:
            self._fail_unexpected(job)


class _Prefetch(threading.Thread):
    """Claims and prepares the next batch while the current one is in the model."""

    def __init__(self, claim: Callable[[], list[Job]], runner: BatchRunner) -> None:
        super().__init__(name="prefetch", daemon=True)
        self.claim, self.runner = claim, runner
        self.jobs: list[Job] = []
        self.ready: list[_Ready] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.jobs = self.claim()
            self.ready = self.runner.prepare(self.jobs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the draining thread
            self.error = e
        finally:
            connection.close()  # this thread's own connection

    def result(self) -> tuple[list[Job], list[_Ready]]:
        self.join()
        if self.error is not None:
            raise self.error
        return self.jobs, self.ready


def worker_drain(*, worker: str, should_stop: Callable[[], bool] = lambda: False, batch_jobs: int | None = None,
                 batch_seconds: float | None = None, prefetch: bool | None = None) -> int:
    """Claim and run batches until nothing is queued or ``should_stop()``;
    returns how many jobs were claimed. Jobs claimed but not started when
    told to stop are handed back to the queue; an error around a batch hands
    back every job held at once (job_lifecycle.jobs_abandon) and is raised.
    Nothing is prefetched while a job that must run alone is held."""
    batch_jobs = batch_jobs or settings.ASR_BATCH_JOBS
    batch_seconds = batch_seconds or settings.ASR_BATCH_AUDIO_SECONDS
    prefetch = settings.ASR_PREFETCH if prefetch is None else prefetch

    def claim(*, solo_ok: bool = True) -> list[Job]:
        with _claiming:
            if should_stop():
                return []
            jobs = jobs_claim_batch(worker=worker, max_jobs=batch_jobs, max_seconds=batch_seconds, solo_ok=solo_ok)
        runner.beats.hold(jobs)
        return jobs

    beats = Heartbeats(worker)
    beats.start()
    runner = BatchRunner(worker=worker, beats=beats, stopping=should_stop)
    claimed = 0
    ahead: _Prefetch | None = None
    try:
        jobs = claim()
        ready = runner.prepare(jobs)
        while jobs:
            claimed += len(jobs)
            if should_stop():
                break
            ahead = None

            def start_prefetch(alone: bool = any(job.run_alone for job in jobs)) -> None:
                nonlocal ahead
                if prefetch and not alone and not should_stop():
                    ahead = _Prefetch(lambda: claim(solo_ok=False), runner)
                    ahead.start()

            runner.recognize(ready, on_model=start_prefetch)
            if ahead is not None:
                jobs, ready = ahead.result()
                ahead = None
                if not jobs and not should_stop() and alone_waiting():  # a prefetch leaves those to a claim
                    jobs = claim()
                    ready = runner.prepare(jobs)
            elif should_stop():
                break
            else:
                jobs = claim()
                ready = runner.prepare(jobs)
    except BaseException:
        if ahead is not None:
            ahead.join()  # its claim commits first, so it is handed back with the rest
        try:
            job_lifecycle.jobs_abandon(worker=worker, held=beats.held())
        except Exception:  # the reaper will requeue what could not be handed back
            log.exception("worker %s could not hand its jobs back after an error", worker)
        raise
    finally:
        beats.stop()
        if should_stop():
            worker_hand_back(worker=worker)
    return claimed


def worker_hand_back(*, worker: str) -> int:
    """Once this process is stopping, hand back every job it holds: a claim
    already in flight commits first and is handed back with the rest, and a
    later one sees the stop and claims nothing."""
    with _claiming:
        return job_lifecycle.jobs_hand_back(worker=worker)


def jobs_run_claimed(*, jobs: list[Job], worker: str) -> dict[Any, Outcome | None]:
    """Run jobs this worker has already claimed, as one batch; how each ended."""
    beats = Heartbeats(worker)
    beats.start()
    runner = BatchRunner(worker=worker, beats=beats)
    try:
        beats.hold(jobs)
        runner.recognize(runner.prepare(jobs))
    except BaseException:
        job_lifecycle.jobs_abandon(worker=worker, held=beats.held())
        raise
    finally:
        beats.stop()
    return runner.outcomes
