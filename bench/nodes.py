#!/usr/bin/env python
"""Throughput with 1, 2 and 3 worker nodes: jobs per minute.

Each node is a `manage.py qcluster` process with its own DATA_DIR and
NODE_NAME and one ASR worker, as in tests/test_multinode.py: a scratch
PostgreSQL database (created and dropped here, on the server of
DATABASE_URL), the Redis broker of REDIS_URL on a queue of its own, and an
S3 bucket on moto's standalone server (started here on a free port). For
each node count, `--jobs` one-second clips are queued, the nodes started,
and the rate is measured from the first claim to the last finish (model
loading is not counted). Tiny random-weight models (tests/tiny_models.py):
this measures the queue, claiming, S3 transfers and the worker loop, not
the speed of a real model.

usage: bench/nodes.py [--jobs 240] [--nodes 1,2,3] [--record]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import publish  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def tiny_models() -> dict[str, Path]:
    """The tiny models the tests build (and cache under .cache/tiny-models)."""
    from tests import tiny_models as builder

    cache = ROOT / ".cache" / "tiny-models" / builder.fingerprint()
    if not (cache / "manifest.json").is_file():
        staging = cache.with_name(f"{cache.name}.tmp{os.getpid()}")
        dirs = builder.build_tiny_models(staging)
        digests = {role: hashlib.sha256((d / "model.pt").read_bytes()).hexdigest() for role, d in dirs.items()}
        (staging / "manifest.json").write_text(json.dumps(digests))
        staging.rename(cache)
    return {role: cache / role for role in json.loads((cache / "manifest.json").read_text())}


def scratch_database(url: str) -> tuple[str, str]:
    """(URL of a new empty database on the server of ``url``, its name)."""
    import psycopg

    name = f"bench_nodes_{os.getpid()}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(jobs: int, node_counts: list[int], scratch: Path) -> list[dict]:
    from tests.asr_fixtures import tiny_env
    from tests.multinode_support import S3Server

    base_url = os.environ.get("DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    db_url, db_name = scratch_database(base_url)
    s3 = S3Server.start()
    cluster = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "bench",
           "DATABASE_URL": db_url, "REDIS_URL": redis_url, "DATA_DIR": str(scratch / "web"), "LOG_LEVEL": "WARNING",
           "SECURE_SSL_REDIRECT": "false", "Q_CLUSTER_NAME": cluster, **s3.env()}
    os.environ.update(env)
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        return [measure(jobs, n, env={**env, **tiny_env(tiny_models())}, s3=s3, scratch=scratch, cluster=cluster)
                for n in node_counts]
    finally:
        from django.db import connections

        connections.close_all()
        s3.stop()
        drop_database(base_url, db_name)


def measure(jobs: int, n: int, *, env: dict[str, str], s3, scratch: Path, cluster: str) -> dict:  # noqa: ANN001
    from django.contrib.auth.models import User
    from django.db.models import Max, Min

    from portal.models import Membership, Project, Role, Team
    from tests.cluster_support import Cluster
    from tests.multinode_support import node_env
    from tests.queue_support import broker_purge, make_job
    from transcription.job_states import JobStatus
    from transcription.models import Job, JobAttempt

    Job.objects.all().delete()
    broker_purge()
    user, _ = User.objects.get_or_create(username="bench")
    team, _ = Team.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})
    project, _ = Project.objects.get_or_create(team=team, name="Bench", defaults={"created_by": user})
    for i in range(jobs):
        make_job(project, user, name=f"clip-{i}.wav", seconds=1.0, store=True, queued_ago=jobs - i)
    nodes = [Cluster(node_env(env, name=f"node-{i}", data_dir=scratch / f"n{n}-node-{i}", s3=s3, cluster=cluster),
                     scratch / f"n{n}-node-{i}.log") for i in range(n)]
    try:
        deadline = time.monotonic() + 1800
        while Job.objects.filter(status=JobStatus.SUCCEEDED).count() < jobs:
            if time.monotonic() > deadline or any(node.proc.poll() is not None for node in nodes):
                raise SystemExit(f"{n} node(s) did not finish:\n" + "\n".join(node.tail() for node in nodes))
            time.sleep(0.5)
    finally:
        for node in nodes:
            node.kill()
    span = JobAttempt.objects.aggregate(first=Min("started_at"), last=Max("ended_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    names = [f"node-{i}" for i in range(n)]
    per_node = {name: JobAttempt.objects.filter(worker__startswith=f"{name}:").count() for name in names}
    # Steady state: from the moment every node had finished its first batch (its model loaded,
    # on a CPU shared with the others' loading) to the last finish.
    warm = max(JobAttempt.objects.filter(worker__startswith=f"{name}:").aggregate(t=Min("ended_at"))["t"]
               for name in names)
    after = JobAttempt.objects.filter(ended_at__gt=warm).count()
    steady = (span["last"] - warm).total_seconds()
    return {"nodes": n, "jobs": jobs, "seconds": seconds, "per_minute": jobs / seconds * 60, "per_node": per_node,
            "steady_jobs": after, "steady_per_minute": after / steady * 60 if steady > 0 else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=240)
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    scratch = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    try:
        rows = run(args.jobs, [int(n) for n in args.nodes.split(",")], scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base, steady_base = rows[0]["per_minute"], rows[0]["steady_per_minute"]
    lines = [f"### {time.strftime('%Y-%m-%d')}: {args.jobs} one-second jobs on 1 to {rows[-1]['nodes']} worker "
             "nodes (tiny models, PostgreSQL, Redis, S3 on moto)", "",
             f"Machine: {os.cpu_count()} cores; load average {load:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end", "",
             "| nodes | first claim to last finish | jobs/minute | vs 1 node | once all nodes were warm: jobs, "
             "jobs/minute, vs 1 node | jobs per node |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['nodes']} | {r['seconds']:.1f} s | {r['per_minute']:.0f} | {r['per_minute'] / base:.2f}x | "
              f"{r['steady_jobs']}, {r['steady_per_minute']:.0f}, {r['steady_per_minute'] / steady_base:.2f}x | "
              f"{', '.join(str(v) for v in r['per_node'].values())} |" for r in rows]
    report = "\n".join(lines)
    publish(report, record=args.record)


if __name__ == "__main__":
    main()
