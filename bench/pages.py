#!/usr/bin/env python
"""Page benchmark: the pages that show the queue, with a big queue.

On a scratch SQLite database: `--users` people in as many teams and `--total` jobs between them,
`--active` of them queued or running (one running per person) and the rest finished; the
person measured owns `--mine` of the active jobs. Then My queue and that person's project page:

- one client, in process: each page `--requests` times through Django's test client (the view,
  its queries and the template, without a network), with the queries per page;
- `--clients` clients at once against gunicorn as the Procfile runs it (2 workers x 4 threads,
  on a free port), each client asking for both pages `--requests` / 3 times over HTTP, back to back
  (the most the server can take), then the same clients asking every `--poll` seconds (as people
  watching pages that refresh themselves every 2 s).

Reports p50 and p95 in milliseconds and the size of each page.

The measured person's finished jobs each have a transcript of about 2,500 characters.

usage: bench/pages.py [--total 10000] [--active 500] [--mine 300] [--users 50] [--requests 30]
                      [--clients 20] [--poll 2]
                      [--record]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import publish  # noqa: E402


def setup(data_dir: Path) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "bench",
                       "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver,127.0.0.1",
                       "SECURE_SSL_REDIRECT": "false"})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: pages name hashed files


MEETING = "今天的会议我们讨论了下个季度的预算、招聘计划和客户反馈，大家都发表了意见。" * 70


def populate(total: int, active: int, mine: int, users: int) -> tuple[object, object]:
    """People with a project each; the first one gets ``mine`` of the active jobs."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from portal.models import Membership, Project, Role, Team
    from transcription.job_states import JobStatus
    from transcription.models import Job, MediaFile, Transcript

    now = timezone.now()
    people = []
    for n in range(users):
        user = User.objects.create_user(f"user{n}")
        team = Team.objects.create(name=f"Team {n}")
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
        people.append((user, Project.objects.create(team=team, name=f"Project {n}", created_by=user)))
    others = max(1, active - mine) // max(1, users - 1)
    finished_each = (total - active) // users
    for n, (user, project) in enumerate(people):
        n_active = mine if n == 0 else (others if n < users - 1 else active - mine - others * (users - 2))
        n_jobs = n_active + finished_each
        media = MediaFile.objects.bulk_create(
            MediaFile(project=project, uploaded_by=user, original_name=f"file-{n}-{i}.wav",
                      file=f"media/{n}/{i}", duration=30 + i % 90) for i in range(n_jobs))
        jobs = []
        for i, m in enumerate(media):
            queued_at = now - timedelta(seconds=n_jobs - i)
            if i < finished_each:
                jobs.append(Job(project=project, media=m, created_by=user, queued_at=queued_at,
                                status=JobStatus.SUCCEEDED, started_at=queued_at, finished_at=queued_at,
                                progress=100, attempts=1, audio_seconds=m.duration, processing_seconds=3.0))
            else:
                running = i == finished_each
                jobs.append(Job(project=project, media=m, created_by=user, queued_at=queued_at,
                                status=JobStatus.RUNNING if running else JobStatus.QUEUED,
                                worker=f"gpu:{n}" if running else "", started_at=now if running else None,
                                heartbeat_at=now if running else None, attempts=1 if running else 0))
        Job.objects.bulk_create(jobs, batch_size=1000)
        if n == 0:  # the measured person's finished jobs have transcripts of a 10-minute meeting's length
            Transcript.objects.bulk_create(Transcript(job=job, text=MEETING, audio_seconds=job.audio_seconds or 0)
                                           for job in jobs if job.status == JobStatus.SUCCEEDED)
    return people[0]


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
        size = len(client.get(url).content)
    return {**percentiles(times), "queries": len(queries), "kb": size / 1024}


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def gunicorn(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """The web role as the Procfile starts it, on a free port."""
    log = data_dir / "gunicorn.log"
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi", "--bind", "127.0.0.1:0",
                             "--workers", "2", "--threads", "4", "--timeout", "120"], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return proc, found.group(1)
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not start:\n{log.read_text(errors='replace')}")


def server_cpu(pid: int) -> float:
    """CPU seconds so far of a process and its children (gunicorn's master and workers)."""
    def ticks(stat: str) -> tuple[int, int]:
        fields = stat.rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime + stime

    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid, used = ticks((entry / "stat").read_text())
            except OSError:
                continue
            if int(entry.name) == pid or ppid == pid:
                total += used
    return total / os.sysconf("SC_CLK_TCK")


def concurrent(base: str, session_key: str, urls: dict[str, str], clients: int, requests: int,
               poll: float = 0.0) -> dict[str, dict]:
    """Each client asks for every page ``requests`` times, back to back or ``poll`` seconds apart
    (both pages, as people watching pages that refresh themselves), each starting at a random
    moment within the first poll."""
    import requests as http

    times: dict[str, list[float]] = {name: [] for name in urls}
    lock = threading.Lock()

    def client(offset: float) -> None:
        web = http.Session()
        web.cookies.set("sessionid", session_key)
        time.sleep(offset)
        for n in range(requests):
            if poll and n:
                time.sleep(poll)
            for name, url in urls.items():
                started = time.perf_counter()
                response = web.get(base + url, timeout=120)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (url, response.status_code)
                with lock:
                    times[name].append(elapsed)

    for url in urls.values():  # warm both workers
        for _ in range(4):
            warm = http.get(base + url, cookies={"sessionid": session_key}, timeout=120)
            assert warm.status_code == 200, warm.status_code
    threads = [threading.Thread(target=client, args=(random.uniform(0, poll),)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {name: percentiles(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=500)
    parser.add_argument("--mine", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between a polling client's requests")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        setup(Path(tmp))
        from django.contrib.sessions.backends.db import SessionStore
        from django.test import Client

        user, project = populate(args.total, args.active, args.mine, args.users)
        urls = {"My queue": "/queue/", "Project page": f"/projects/{project.pk}/"}
        client = Client()
        client.force_login(user)
        single = {name: measure(client, url, args.requests) for name, url in urls.items()}
        session = SessionStore()
        session.update({"_auth_user_id": str(user.pk),
                        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                        "_auth_user_hash": user.get_session_auth_hash()})
        session.create()
        server, base = gunicorn(Path(tmp))
        try:
            per_client = max(3, args.requests // 3)
            cpu_before, wall_before, client_before = server_cpu(server.pid), time.perf_counter(), time.process_time()
            many = concurrent(base, session.session_key, urls, args.clients, per_client)
            wall = time.perf_counter() - wall_before
            client_ms = (time.process_time() - client_before) * 1000 / (args.clients * per_client * len(urls))
            cpu_ms = (server_cpu(server.pid) - cpu_before) * 1000 / (args.clients * per_client * len(urls))
            polling = concurrent(base, session.session_key, urls, args.clients, per_client, poll=args.poll)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
    lines = [f"### {time.strftime('%Y-%m-%d')}: pages with {args.total} jobs ({args.active} active, "
             f"{args.mine} of them the measured person's) from {args.users} people", "",
             f"Machine: {os.cpu_count()} cores; load average {load:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end", "",
             f"{args.clients} clients: {args.clients * per_client * len(urls)} requests in {wall:.1f} s wall; "
             f"the server spent {cpu_ms:.1f} ms of CPU per request (both pages, gunicorn's processes), "
             f"the clients {client_ms:.1f} ms", "",
             f"| page | size | queries | 1 client, in process: p50 / p95 | {args.clients} clients at once, back to "
             f"back, gunicorn 2 workers x 4 threads: p50 / p95 | {args.clients} clients each asking every "
             f"{args.poll:g} s: p50 / p95 |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['kb']:.0f} KB | {r['queries']} | {r['p50']:.0f} / {r['p95']:.0f} ms | "
              f"{many[name]['p50']:.0f} / {many[name]['p95']:.0f} ms | "
              f"{polling[name]['p50']:.0f} / {polling[name]['p95']:.0f} ms |" for name, r in single.items()]
    report = "\n".join(lines)
    publish(report, record=args.record)


if __name__ == "__main__":
    main()
