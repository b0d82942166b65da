"""`manage.py qcluster`: django-q2's cluster, stopping promptly.

django-q2's own command stops by waiting for every worker to finish its
task, which for a worker draining the ASR queue may be many minutes. This one
shares a flag with the worker processes (set on SIGTERM or SIGINT to the
main process): each hands its jobs back to the queue at once and exits, so
the cluster stops within seconds. A SIGTERM to the whole process group (what
supervisors and honcho send) reaches the workers directly, to the same end.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

from transcription.services.worker_process import cluster_stop_arm

# How long a stopping cluster waits to see whether its sentinel died of the same signal.
SENTINEL_GRACE_SECONDS = 1.0


def _gone(pid: int) -> bool:
    """Ended (a zombie counts): read from /proc, so the main thread's own wait for it is not raced."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _exit_after(sentinel_pid: int) -> None:
    while not _gone(sentinel_pid):
        time.sleep(0.1)
    time.sleep(SENTINEL_GRACE_SECONDS)  # django-q2's own stop normally returns in this time
    os._exit(0)


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        settings.SECRET_KEY  # noqa: B018 - as django-q2's command: signing needs it, fail early
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        stop_workers = cluster_stop_arm()
        cluster = Cluster()

        def stop(signum: int, frame: Any) -> None:
            stop_workers()
            # A SIGTERM to the whole group has killed the sentinel too, possibly while it held the lock
            # of django-q2's stop event: setting that event now would wait for the dead forever.
            deadline = time.monotonic() + SENTINEL_GRACE_SECONDS
            while cluster.sentinel is not None and cluster.sentinel.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if cluster.sentinel is not None and not cluster.sentinel.is_alive():
                os._exit(0)  # the workers hand their jobs back on their own SIGTERM
            if cluster.sentinel is not None:
                # The sentinel was still there (a loaded machine can take longer to end it): stop it
                # django-q2's way, and leave once it is gone even if that way is stuck on its lock.
                threading.Thread(target=_exit_after, args=(cluster.sentinel.pid,), daemon=True).start()
            cluster.sig_handler(signum, frame)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
