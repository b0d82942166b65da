#!/usr/bin/env python
"""Requeue latency: how soon a killed worker's jobs are claimed again.

A real `manage.py qcluster` (one ASR worker, tiny random-weight models, tests/tiny_models.py) on a
scratch database: SQLite with the ORM broker by default, or a scratch PostgreSQL database (created
and dropped here) and Redis when DATABASE_URL and REDIS_URL are set. JOB_STALE_SECONDS is 600, so
only knowing that the process is gone can requeue in time. Each round:

  worker killed   a batch is in the model; SIGKILL to the worker process. Measured: kill → its jobs
                  requeued (the lost attempts end), and kill → the first and the last of them
                  claimed again (django-q2 starts a new worker, which reaps its dead sibling before
                  it claims; they then run alone, one after another).
  cluster killed  a batch is in the model; SIGKILL to the whole cluster, and a new one started.
                  Measured: the new cluster's start → its first claim, and → all the killed jobs
                  claimed again.

Also the CPU seconds of the cluster processes and the load average. Jobs are minutes of espeak-ng
speech (bench/audio.py), so a batch is still in the model when the signal comes.

usage: bench/requeue.py [--rounds 3] [--record]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import publish  # noqa: E402

JOBS = 6


def group_cpu_seconds(cluster) -> float:  # noqa: ANN001 - tests.cluster_support.Cluster
    """user + system seconds of the cluster's processes, those they reaped included (/proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == cluster.proc.pid:  # its process group
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def wait(condition, what: str, cluster, timeout: float = 300) -> float:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or cluster.proc.poll() is not None:
            raise SystemExit(f"gave up waiting for {what}:\n{cluster.tail()}")
        time.sleep(0.02)
    return time.time()


def setup(scratch: Path) -> tuple[dict[str, str], callable]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "bench",
           "DATA_DIR": str(scratch), "LOG_LEVEL": "WARNING", "SECURE_SSL_REDIRECT": "false",
           "Q_CLUSTER_NAME": f"bench-{uuid.uuid4().hex[:8]}"}
    cleanup = lambda: None  # noqa: E731
    if os.environ.get("DATABASE_URL"):
        from bench.nodes import drop_database, scratch_database

        base = os.environ["DATABASE_URL"]
        env["DATABASE_URL"], name = scratch_database(base)
        cleanup = lambda: drop_database(base, name)  # noqa: E731
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return env, cleanup


def queue_jobs(scratch: Path, round_no: int) -> None:
    from django.contrib.auth.models import User

    from bench.audio import speech
    from portal.models import Membership, Project, Role, Team
    from tests.asr_fixtures import write_wav
    from tests.queue_support import make_job
    from transcription.models import Job

    Job.objects.all().delete()
    user, _ = User.objects.get_or_create(username="bench")
    team, _ = Team.objects.get_or_create(name="Bench")
    Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.OWNER})
    project, _ = Project.objects.get_or_create(team=team, name="Bench", defaults={"created_by": user})
    clip = write_wav(scratch / "clip.wav", speech(180.0, 7))
    for i in range(JOBS):
        job = make_job(project, user, name=f"r{round_no}-{i}.wav", seconds=180.0, queued_ago=JOBS - i)
        job.media.file.save("clip.wav", clip.open("rb"), save=True)


def one_round(env: dict[str, str], scratch: Path, n: int) -> dict[str, float]:
    from django.db.models import Max, Min

    from tests.cluster_support import Cluster, claimed_again
    from tests.queue_support import broker_purge
    from transcription.job_states import JobStatus
    from transcription.models import Job, JobAttempt

    queue_jobs(scratch, n)
    broker_purge()
    in_model = Job.objects.filter(status=JobStatus.RUNNING, stage="transcribing")
    first = Cluster(env, scratch / f"round-{n}-a.log")
    try:
        wait(in_model.exists, "a batch in the model", first)
        name = in_model.values_list("worker", flat=True).first()
        cpu = group_cpu_seconds(first)
        killed_at = time.time()
        os.kill(int(name.rsplit(":", 2)[1]), signal.SIGKILL)
        wait(lambda: claimed_again({name}), "the killed worker's jobs claimed again", first)
        lost = JobAttempt.objects.filter(worker=name, outcome="lost")
        requeued = lost.aggregate(t=Max("ended_at"))["t"].timestamp() - killed_at
        again = [JobAttempt.objects.get(job_id=j, number=k + 1).started_at.timestamp() - killed_at
                 for j, k in lost.values_list("job_id", "number")]
        wait(in_model.exists, "a job in the model again", first)
        names = set(JobAttempt.objects.filter(ended_at__isnull=True).values_list("worker", flat=True))
        cpu += group_cpu_seconds(first)
    finally:
        first.kill()
    boot = time.time()
    second = Cluster(env, scratch / f"round-{n}-b.log")
    try:
        wait(lambda: claimed_again(names), "the killed cluster's jobs claimed again", second)
        first_claim = JobAttempt.objects.exclude(worker__in=names | {name}).aggregate(t=Min("started_at"))["t"]
        reclaimed_after_boot = time.time() - boot
        cpu += group_cpu_seconds(second)
    finally:
        second.kill()
    return {"requeued": requeued, "first_reclaimed": min(again), "reclaimed": max(again), "lost": len(again),
            "boot_first_claim": first_claim.timestamp() - boot,
            "boot_reclaimed": reclaimed_after_boot, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-requeue-"))
    try:
        env, cleanup = setup(scratch)
        from bench.nodes import tiny_models
        from tests.asr_fixtures import tiny_env

        env = {**env, **tiny_env(tiny_models()), "ASR_WORKERS": "1", "ASR_BATCH_JOBS": "2",
               "JOB_HEARTBEAT_SECONDS": "5", "JOB_STALE_SECONDS": "600"}
        try:
            rows = [one_round(env, scratch, n) for n in range(args.rounds)]
        finally:
            from django.db import connection, connections

            backend = connection.vendor
            connections.close_all()
            cleanup()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    end = os.getloadavg()

    lost = ", ".join(str(r["lost"]) for r in rows)

    def col(key: str) -> str:
        return " / ".join(f"{r[key]:.2f}" for r in rows) + f" (median {statistics.median(r[key] for r in rows):.2f})"

    broker = "Redis" if os.environ.get("REDIS_URL") else "the ORM broker"
    lines = [f"### {time.strftime('%Y-%m-%d')}: requeue after SIGKILL, {args.rounds} rounds ({backend}, {broker}, "
             "tiny models, one ASR worker, batches of 2 with prefetch, JOB_HEARTBEAT_SECONDS 5, "
             "JOB_STALE_SECONDS 600)", "",
             f"Machine: {os.cpu_count()} cores, shared with other work (not quiet); load average "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the start, "
             f"{end[0]:.1f} / {end[1]:.1f} / {end[2]:.1f} at the end", "",
             f"The killed worker held {lost} jobs (its batch, and the prefetched one if it had claimed it yet) "
             "in the rounds.", "",
             "| measured | seconds, per round |", "|---|---|",
             f"| worker SIGKILLed → its jobs requeued | {col('requeued')} |",
             f"| worker SIGKILLed → the first of its jobs claimed again | {col('first_reclaimed')} |",
             f"| worker SIGKILLed → the last of its jobs claimed again (they run alone, one after another) | "
             f"{col('reclaimed')} |",
             f"| cluster SIGKILLed, new one started → its first claim | {col('boot_first_claim')} |",
             f"| new cluster started → all the killed jobs claimed again (polled every 20 ms) | "
             f"{col('boot_reclaimed')} |",
             f"| CPU seconds of the cluster processes in the round | {col('cpu')} |"]
    publish("\n".join(lines), record=args.record)


if __name__ == "__main__":
    main()
