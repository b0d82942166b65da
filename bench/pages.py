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

Reports p50 and p95 in milliseconds and the size of each page, and the CPU each request cost:
the web process's and, on PostgreSQL, the database server's (its backends are separate processes).

The measured person's finished jobs each have a transcript of about 2,500 characters.

`--backends sqlite,postgresql` runs the same measurements on both, one after the other (each in
its own process, `--rounds` times, the first backend alternating), and reports them side by side
with the ratio PostgreSQL / SQLite. SQLite is a scratch file; PostgreSQL is the database named by
DATABASE_URL, which is EMPTIED first (every table dropped) and ANALYZEd once filled (as autovacuum
would be, long before 10,000 jobs had been served), with REDIS_URL, if set, as the cache (the
scale-out path).

usage: [DATABASE_URL=postgres://.../scratch_db] [REDIS_URL=redis://...]
       bench/pages.py [--backends sqlite,postgresql] [--rounds 2]
                      [--total 10000] [--active 500] [--mine 300] [--users 50] [--requests 30]
                      [--clients 20] [--poll 2]
                      [--record]
"""

from __future__ import annotations

import argparse
import json
import logging
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
    if os.environ.get("DATABASE_URL"):
        empty_database(os.environ["DATABASE_URL"])
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false", "SECRET_KEY": "bench",
                       "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver,127.0.0.1",
                       "SECURE_SSL_REDIRECT": "false"})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: pages name hashed files


def empty_database(url: str) -> None:
    """A scratch PostgreSQL database: drop everything so the run starts from the same empty state."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def analyze() -> None:
    """Planner statistics for the freshly filled tables (autovacuum's job on a live server)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


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
    cpu_before, db_before = time.process_time(), database_cpu()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    cpu_ms = (time.process_time() - cpu_before) * 1000 / requests
    db_ms = (database_cpu() - db_before) * 1000 / requests
    with CaptureQueriesContext(connection) as queries:
        size = len(client.get(url).content)
    return {**percentiles(times), "queries": len(queries), "kb": size / 1024, "cpu_ms": cpu_ms, "db_ms": db_ms}


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


def _stat(pid: int, *, one_thread: bool = False) -> tuple[int, float]:
    """A process's parent and the CPU seconds it has used so far. A one-thread process (a database
    backend) is read in scheduler nanoseconds, not 10-ms ticks: a page's database work is a few ms;
    the nanoseconds only count a process's first thread, so gunicorn's are read in ticks."""
    proc = Path("/proc") / str(pid)
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    if one_thread:
        try:
            return int(fields[1]), int((proc / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError):
            pass
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """CPU seconds so far of a process and its children (gunicorn's master and workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid, used = _stat(int(entry.name))
            except (OSError, ValueError):
                continue
            if int(entry.name) == pid or ppid == pid:
                total += used
    return total


def database_cpu() -> float:
    """CPU seconds so far of the database server's backends serving this database (PostgreSQL on
    this machine; 0 for SQLite, whose work is in the web process's own CPU). A backend that ends
    takes its seconds with it, so measure while the web processes keep their connections."""
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                               " AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            total += _stat(pid, one_thread=True)[1]
        except (OSError, ValueError):
            continue  # ended meanwhile, or not on this machine
    return total


def concurrent(base: str, session_key: str, urls: dict[str, str], clients: int, requests: int,
               poll: float = 0.0) -> dict[str, dict]:
    """Each client asks for every page ``requests`` times, back to back or ``poll`` seconds apart
    (both pages, as people watching pages that refresh themselves), each starting at a random
    moment within the first poll."""
    import requests as http
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    logging.getLogger("urllib3").setLevel(logging.ERROR)  # the resends are counted instead
    resent = []

    class Resend(Retry):
        def increment(self, *args, **kwargs):
            resent.append(1)
            return super().increment(*args, **kwargs)

    times: dict[str, list[float]] = {name: [] for name in urls}
    lock = threading.Lock()

    def client(offset: float) -> None:
        web = http.Session()
        # gunicorn closes an idle kept-alive connection after 2 s, the polling interval: a request
        # sent just then finds it closed, and is sent again on a new one (as browsers do).
        retry = Resend(total=1, connect=1, read=1, status=0, allowed_methods=["GET"])
        web.mount("http://", HTTPAdapter(max_retries=retry))
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
    return {**{name: percentiles(values) for name, values in times.items()}, "resent": len(resent)}


def run_one(args: argparse.Namespace) -> dict:
    """Every measurement on the backend this process is set up for (DATABASE_URL or SQLite)."""
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        setup(Path(tmp))
        from django.contrib.sessions.backends.db import SessionStore
        from django.db import connection
        from django.test import Client

        user, project = populate(args.total, args.active, args.mine, args.users)
        analyze()
        urls = {"My queue": "/queue/", "Project page": f"/projects/{project.pk}/"}
        client = Client()
        client.force_login(user)
        single = {name: measure(client, url, args.requests) for name, url in urls.items()}
        session = SessionStore()
        session.update({"_auth_user_id": str(user.pk),
                        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                        "_auth_user_hash": user.get_session_auth_hash()})
        session.create()
        connection.close()  # its backend's CPU is not the server's
        server, base = gunicorn(Path(tmp))
        try:
            per_client = max(3, args.requests // 3)
            n = args.clients * per_client * len(urls)
            concurrent(base, session.session_key, urls, 2, 1)  # every worker thread connected: their backends counted
            cpu_before, db_before = server_cpu(server.pid), database_cpu()
            wall_before, client_before = time.perf_counter(), time.process_time()
            many = concurrent(base, session.session_key, urls, args.clients, per_client)
            wall = time.perf_counter() - wall_before
            client_ms = (time.process_time() - client_before) * 1000 / n
            cpu_ms = (server_cpu(server.pid) - cpu_before) * 1000 / n
            db_ms = (database_cpu() - db_before) * 1000 / n
            polling = concurrent(base, session.session_key, urls, args.clients, per_client, poll=args.poll)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
    return {"backend": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
            "cache": "redis" if os.environ.get("REDIS_URL") else "database", "load": [load_start, os.getloadavg()[0]],
            "single": single, "many": many, "polling": polling, "requests": n, "wall": wall,
            "server_ms": cpu_ms, "db_ms": db_ms, "client_ms": client_ms}


def child(backend: str, args: argparse.Namespace) -> dict:
    """``run_one`` in a fresh process: Django is set up once per process, for one database."""
    env = dict(os.environ)
    if backend == "sqlite":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    elif not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        raise SystemExit("--backends postgresql needs DATABASE_URL=postgres://.../<a scratch database>")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        argv = [sys.executable, __file__, "--json", out.name, *[f"--{k}={v}" for k, v in vars(args).items()
                                                               if k in PASSED]]
        subprocess.run(argv, env=env, check=True)
        return json.loads(Path(out.name).read_text())


PASSED = ("total", "active", "mine", "users", "requests", "clients", "poll")


def ms(values: list[float]) -> str:
    return " / ".join(f"{v:.0f}" for v in values) + " ms"


def report(runs: list[dict], args: argparse.Namespace) -> str:
    backends = list(dict.fromkeys(r["backend"] for r in runs))
    loads = [value for r in runs for value in r["load"]]
    lines = [f"### {time.strftime('%Y-%m-%d')}: pages with {args.total} jobs ({args.active} active, "
             f"{args.mine} of them the measured person's) from {args.users} people, "
             f"{' and '.join(backends)}, {len(runs) // len(backends)} round(s)", "",
             f"Machine: {os.cpu_count()} cores; load average {min(loads):.1f} to {max(loads):.1f} during the runs", ""]
    head = ["page", "measure", *[f"{r['backend']} (round {n // len(backends) + 1})" for n, r in enumerate(runs)]]
    if backends == ["sqlite", "postgresql"] or backends == ["postgresql", "sqlite"]:
        head.append("postgresql / sqlite (per round)")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def row(page: str, label: str, value) -> None:
        cells = [value(r) for r in runs]
        line = [page, label, *[ms(c) if isinstance(c, list) else c for c in cells]]
        if len(head) > len(line):
            ratios = []
            for n in range(0, len(runs) - 1, 2):
                pair = {runs[n]["backend"]: cells[n], runs[n + 1]["backend"]: cells[n + 1]}
                pg, lite = pair["postgresql"], pair["sqlite"]
                if isinstance(pg, list):
                    ratios.append(" / ".join(f"{a / b:.2f}" if b else "-" for a, b in zip(pg, lite, strict=True)))
            line.append("; ".join(ratios) + ("x" if ratios else ""))
        lines.append("| " + " | ".join(line) + " |")

    row("both", "requests sent again (connection closed by the server)",
        lambda r: f"{r['many']['resent']} back to back, {r['polling']['resent']} polling")
    for page in runs[0]["single"]:
        def of(part: str, *keys: str, page: str = page):
            return lambda r: [r[part][page][k] for k in keys]

        row(page, "1 client, in process: p50 / p95", of("single", "p50", "p95"))
        row(page, "1 client: CPU per request, web / database", of("single", "cpu_ms", "db_ms"))
        row(page, f"{args.clients} clients back to back: p50 / p95", of("many", "p50", "p95"))
        row(page, f"{args.clients} clients every {args.poll:g} s: p50 / p95", of("polling", "p50", "p95"))
        row(page, "queries, size",
            lambda r, page=page: f"{r['single'][page]['queries']}, {r['single'][page]['kb']:.0f} KB")
    row("both", f"{args.clients} clients back to back: CPU per request, gunicorn / database",
        lambda r: [r["server_ms"], r["db_ms"]])
    row("both", f"{args.clients} clients back to back: wall for all requests",
        lambda r: f"{r['wall']:.1f} s ({r['requests']} requests)")
    row("both", "load average at start / end", lambda r: f"{r['load'][0]:.1f} / {r['load'][1]:.1f}")
    row("both", "cache", lambda r: r["cache"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=500)
    parser.add_argument("--mine", type=int, default=300)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between a polling client's requests")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--json", help=argparse.SUPPRESS)  # child: write run_one's result here
    args = parser.parse_args()
    if args.json:
        Path(args.json).write_text(json.dumps(run_one(args)))
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    runs = []
    for n in range(args.rounds):
        for backend in backends if n % 2 == 0 else backends[::-1]:
            runs.append(child(backend, args))
        runs[-len(backends):] = sorted(runs[-len(backends):], key=lambda r: backends.index(r["backend"]))
    publish(report(runs, args), record=args.record)


if __name__ == "__main__":
    main()
