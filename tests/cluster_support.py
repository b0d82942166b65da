"""pytest plugin: real `manage.py qcluster` processes for the end-to-end
tests, each in its own process group so a signal can reach every process of
it, running the tiny real models against the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.asr_fixtures import tiny_env
from tests.queue_support import broker_purge, outgoing_purge
from transcription.models import Job, JobAttempt

ROOT = Path(__file__).resolve().parent.parent


class Cluster:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                     start_new_session=True, stdout=self.handle, stderr=subprocess.STDOUT)

    def signal_group(self, signum: int) -> None:
        """Every process of the cluster, also after the main one ended (one left behind would
        keep the test database open)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        self.proc.wait()
        self.handle.close()

    def alive_in_group(self) -> list[str]:
        """The processes of the cluster's group still running (zombies do not count)."""
        self.proc.poll()  # reap the main process if it has exited
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")"
            name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                alive.append(f"{stat.parent.name} {name} {fields[0]}")
        return alive

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def clusters(worker_env, tiny_models, tmp_path):  # noqa: ANN001, ANN201 - a factory fixture
    """``clusters(**env)`` starts a cluster; every one started is killed at the end."""
    base = {**worker_env, **tiny_env(tiny_models), "ASR_BATCH_SECONDS": "20", "ASR_WORKERS": "1",
            "JOB_HEARTBEAT_SECONDS": "1", "JOB_STALE_SECONDS": "4", "LOG_LEVEL": "INFO"}
    started: list[Cluster] = []

    def start(**env: str) -> Cluster:
        cluster = Cluster({**base, **env}, tmp_path / f"cluster-{len(started)}.log")
        started.append(cluster)
        return cluster

    broker_purge()
    outgoing_purge()
    try:
        yield start
    finally:
        for cluster in started:
            cluster.kill()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if cluster.proc.poll() is not None:
            pytest.fail(f"the cluster exited while waiting for {what}:\n{cluster.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; jobs: "
                        f"{list(Job.objects.values_list('status', 'stage', 'progress', 'error'))[:20]}\n"
                        f"{cluster.tail()}")
        time.sleep(0.1)


def claimed_again(workers: set[str]) -> bool:
    """Every attempt of these (killed) workers has ended as lost, and its job was claimed again."""
    held = JobAttempt.objects.filter(worker__in=workers)
    if held.filter(ended_at__isnull=True).exists():
        return False
    lost = list(held.filter(outcome="lost").values_list("job_id", "number"))
    return bool(lost) and all(JobAttempt.objects.filter(job_id=job, number__gt=n).exists() for job, n in lost)
