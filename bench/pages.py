#!/usr/bin/env python
"""Page benchmark: the pages that show the queue, with a big queue.

On a scratch SQLite database: `--users` people in as many teams, `--queued` queued jobs between
them (and a few running), then My queue and the project page of one of them are rendered
`--requests` times each through Django's test client (in process: the view, its queries and the
template, without a network). Reports p50 and p95 in milliseconds and the queries per page.

usage: bench/pages.py [--queued 10000] [--users 50] [--requests 30] [--record]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(data_dir: Path) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "bench",
                       "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver",
                       "SECURE_SSL_REDIRECT": "false"})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: pages name hashed files


def populate(queued: int, users: int) -> tuple[object, object]:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from portal.models import Membership, Project, Role, Team
    from transcription.job_states import JobStatus
    from transcription.models import Job, MediaFile

    now = timezone.now()
    first = None
    per_user = queued // users
    for n in range(users):
        user = User.objects.create_user(f"user{n}")
        team = Team.objects.create(name=f"Team {n}")
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
        project = Project.objects.create(team=team, name=f"Project {n}", created_by=user)
        media = MediaFile.objects.bulk_create(
            MediaFile(project=project, uploaded_by=user, original_name=f"file-{n}-{i}.wav",
                      file=f"media/{n}/{i}", duration=30 + i % 90) for i in range(per_user))
        Job.objects.bulk_create(
            Job(project=project, media=m, created_by=user, queued_at=now - timedelta(seconds=per_user - i),
                status=JobStatus.RUNNING if i == 0 else JobStatus.QUEUED, worker="gpu:1" if i == 0 else "",
                started_at=now if i == 0 else None, heartbeat_at=now if i == 0 else None)
            for i, m in enumerate(media))
        first = first or (user, project)
    return first


def measure(client: object, url: str, requests: int) -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "queries": len(queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        setup(Path(tmp))
        from django.test import Client

        user, project = populate(args.queued, args.users)
        client = Client()
        client.force_login(user)
        rows = {"My queue": measure(client, "/queue/", args.requests),
                "Project page": measure(client, f"/projects/{project.pk}/", args.requests)}
    lines = [f"### {time.strftime('%Y-%m-%d')}: pages with {args.queued} queued jobs from {args.users} people, "
             f"{args.requests} requests each", "",
             f"Machine: {os.cpu_count()} cores; load average {load:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end",
             "", "| page | p50 | p95 | queries |", "|---|---|---|---|"]
    lines += [f"| {name} | {r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['queries']} |" for name, r in rows.items()]
    report = "\n".join(lines)
    print(report)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n" + report + "\n")


if __name__ == "__main__":
    main()
