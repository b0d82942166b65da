"""`manage.py qcluster`: django-q2's cluster, stopping promptly.

django-q2's own command stops by waiting for every worker to finish its
task, which for a worker draining the ASR queue may be many minutes. This one
shares an event with the worker processes (set on SIGTERM or SIGINT to the
main process): each hands its jobs back to the queue at once and exits, so
the cluster stops within seconds. A SIGTERM to the whole process group (what
supervisors and honcho send) reaches the workers directly, to the same end.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

from transcription.services.worker_process import cluster_stop_arm


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        settings.SECRET_KEY  # noqa: B018 - as django-q2's command: signing needs it, fail early
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        stop_workers = cluster_stop_arm()
        cluster = Cluster()

        def stop(signum: int, frame: Any) -> None:
            stop_workers.set()
            cluster.sig_handler(signum, frame)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
