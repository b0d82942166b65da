"""The ASR worker inside a django-q2 worker process.

Each worker process of the cluster runs ``worker_drain`` on a thread of its
own from the moment it is spawned: it claims work whenever jobs are queued
(looking every ASR_IDLE_POLL_SECONDS when idle), so a broker wake-up is only
a hint that makes it look at once, and a lost or stuck one costs nothing.
django-q2's own task loop stays free for exports and notifications.

A dead worker is known at once on its node: every worker process, as soon
as it is spawned (the cluster starting, or django-q2 reincarnating a worker
that died), requeues the jobs held by workers of this node whose process is
gone before it claims anything, and then reaps on a timer of its own every
JOB_HEARTBEAT_SECONDS (services/reaper.py), whatever its drain is doing.

Stopping: on SIGTERM to the worker (a process-group SIGTERM, as supervisors
send) or when the cluster's main process is told to stop (our ``qcluster``
command sets a shared event), the worker hands every job it holds back to
the queue at once, recorded as interrupted, and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.utils import DatabaseError

from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.reaper import jobs_reap_stale
from transcription.services.worker import worker_drain, worker_hand_back
from transcription.services.worker_names import worker_name
from transcription.services.worker_presence import worker_absent, worker_present

log = logging.getLogger(__name__)

_stop = threading.Event()  # this process was told to stop
_hint = threading.Event()  # a wake-up arrived: look for work now
# A byte of shared memory, set by the cluster's main process. Not a multiprocessing.Event:
# its lock would stay taken by a worker killed while reading it, and hang the next set().
_cluster_stop: Any = None
_drainer: threading.Thread | None = None


def cluster_stop_arm() -> Callable[[], None]:
    """In the cluster's main process, before it forks: returns what tells
    every worker process to stop."""
    global _cluster_stop
    _cluster_stop = multiprocessing.get_context("fork").RawValue("b", 0)

    def stop_all() -> None:
        _cluster_stop.value = 1

    return stop_all


def stopping() -> bool:
    return _stop.is_set() or (_cluster_stop is not None and bool(_cluster_stop.value))


def on_worker_spawn(**_kwargs: Any) -> None:
    """django-q2's post_spawn: start draining in this new worker process."""
    global _drainer
    if not settings.ASR_WORKER_LOOP or settings.QCLUSTER_ROLE != "asr":  # outgoing workers run their tasks only
        return
    _stop.clear()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: _stop.set())
    threading.Thread(target=_watch, name="asr-stop-watch", daemon=True).start()
    threading.Thread(target=_reap_forever, name="asr-reaper", daemon=True).start()
    _drainer = threading.Thread(target=_drain_forever, name="asr-drain", daemon=True)
    _drainer.start()


def _watch() -> None:
    """Hand the jobs back the moment a stop is asked for. On its own SIGTERM
    the process then exits (its sentinel got the signal too); when the
    cluster stops in order, django-q2 ends the process with its STOP message,
    which must not be pre-empted: a worker gone while waiting for work would
    keep django-q2's task queue locked."""
    while not stopping():
        time.sleep(0.1)
    try:
        worker_hand_back(worker=worker_name())
        worker_absent(name=worker_name())
    except Exception:  # the reaper will requeue what could not be handed back
        log.exception("could not hand jobs back")
    finally:
        connection.close()
    if _stop.is_set():
        logging.shutdown()
        os._exit(0)


def _work_waiting() -> bool:
    return Job.objects.filter(job_states.q_status(JobStatus.QUEUED)).exists()


def _reap() -> None:
    try:
        close_old_connections()
        jobs_reap_stale()
    except Exception:  # reaping must never stop the worker; the next round tries again
        log.exception("reaping jobs of dead workers failed")


def _reap_forever() -> None:
    name = worker_name()
    _note_presence(name)
    while not stopping():
        _stop.wait(settings.JOB_HEARTBEAT_SECONDS)
        if not stopping():
            _reap()
            _note_presence(name)
    connection.close()


def _note_presence(name: str) -> None:
    try:
        worker_present(name=name)
    except DatabaseError:  # the ops page's list is not worth stopping for
        log.warning("could not note worker %s as present", name, exc_info=True)


def _drain_forever() -> None:
    worker = worker_name()
    log.info("ASR worker %s draining the queue", worker)
    _reap()  # a sibling that just died (this process may be its reincarnation): its jobs first
    while not stopping():
        try:
            close_old_connections()
            if _work_waiting():
                worker_drain(worker=worker, should_stop=stopping)
        except DatabaseError:
            log.warning("ASR worker %s: database unavailable; retrying", worker, exc_info=True)
            time.sleep(1)
        except Exception:
            log.exception("ASR worker %s: drain loop failed; retrying", worker)
            time.sleep(1)
        _hint.wait(settings.ASR_IDLE_POLL_SECONDS)
        _hint.clear()


def wakeup() -> dict[str, int] | None:
    """The body of the wake-up task. In a worker process that drains by
    itself, a hint; elsewhere (one-off runs, sync mode), drain here."""
    if _drainer is not None and _drainer.is_alive():
        _hint.set()
        return None
    if stopping():  # a stopping worker's drainer has ended; the wake-up (often its own hand-back's) is not for it
        return None
    claimed = worker_drain(worker=worker_name(), should_stop=stopping)
    return {"claimed": claimed} if claimed else None
