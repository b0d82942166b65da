"""A real `manage.py qcluster` runs transcriptions: the engine is built lazily inside the forked
worker (never in the cluster's parent processes) and reused for the next task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_q.tasks import async_task, result

from tests.asr_fixtures import ROOT, tiny_env

TASK = "transcription.asr.engine.transcribe_path_to_dict"


def _has_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _wait_for(task_id: str, cluster: subprocess.Popen, log: Path, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = result(task_id)
        if done is not None:
            return done
        assert cluster.poll() is None, f"qcluster exited:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"no result after {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.mark.django_db(transaction=True)
def test_it_transcribes_in_a_forked_worker_and_keeps_the_engine(worker_env, tiny_models, speech, silence,
                                                                tmp_path):
    log = tmp_path / "qcluster.log"
    env = {**worker_env, **tiny_env(tiny_models), "ASR_WORKERS": "1"}
    with log.open("w") as out:
        cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        first = _wait_for(async_task(TASK, str(speech[0])), cluster, log)
        assert first["text"] and first["segments"], first
        worker = first["pid"]
        assert worker != cluster.pid and _has_torch(worker)
        # nothing between the worker and the command itself loaded torch before forking
        ancestor = _parent(worker)
        while ancestor != cluster.pid and ancestor > 1:
            assert not _has_torch(ancestor)
            ancestor = _parent(ancestor)
        assert ancestor == cluster.pid and not _has_torch(cluster.pid)

        second = _wait_for(async_task(TASK, str(silence)), cluster, log)
        assert (second["pid"], second["text"], second["segments"]) == (worker, "", [])
    finally:
        os.killpg(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
