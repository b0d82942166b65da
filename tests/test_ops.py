"""The staff ops page: numbers checked against jobs with known durations and
timestamps, access rules, the htmx fragment, and a bounded query count with
10,000 jobs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from portal.models import Membership, Project, Role, Team
from tests.conftest import login
from tests.ops_support import make_job, make_jobs, make_staff
from transcription.models import JobStatus
from transcription.services.ops import ops_snapshot

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, 30, tzinfo=UTC)


@pytest.fixture
def staff(db):
    return make_staff()


@pytest.fixture
def beta(charlie) -> Project:
    team = Team.objects.create(name="Beta")
    Membership.objects.create(team=team, user=charlie, role=Role.OWNER)
    return Project.objects.create(team=team, name="Podcasts", created_by=charlie)


def succeeded(project, name, finished_at, audio, processing):
    return make_job(project, name=name, status=JobStatus.SUCCEEDED, finished_at=finished_at, worker="gpu-1",
                    started_at=finished_at - timedelta(seconds=processing), audio_seconds=audio,
                    processing_seconds=processing)


@pytest.fixture
def history(project, beta):
    """Jobs around NOW = 2025-03-15 12:30 UTC."""
    succeeded(project, "a", NOW.replace(hour=12, minute=10), 3600, 360)
    succeeded(project, "b", NOW.replace(hour=10, minute=45), 1800, 270)
    succeeded(project, "c", datetime(2025, 3, 14, 13, 5, tzinfo=UTC), 7200, 720)  # first hour of the window
    succeeded(project, "d", datetime(2025, 3, 14, 12, 50, tzinfo=UTC), 999, 99)  # before the window
    succeeded(beta, "e", datetime(2025, 3, 2, 8, 0, tzinfo=UTC), 600, 60)
    succeeded(beta, "f", datetime(2025, 2, 28, 23, 0, tzinfo=UTC), 5000, 500)  # last month (UTC)
    for i in range(3):
        make_job(project, name=f"bad{i}", status=JobStatus.FAILED, error="Not an audio file.", worker="gpu-2",
                 finished_at=NOW - timedelta(hours=i + 1))
    make_job(project, name="oom", status=JobStatus.FAILED, error="Out of memory.", finished_at=NOW - timedelta(hours=5))
    make_job(project, name="old", status=JobStatus.FAILED, error="Not an audio file.",
             finished_at=NOW - timedelta(days=2))
    make_job(project, name="q1", queued_at=NOW - timedelta(minutes=10))
    make_job(project, name="q2", queued_at=NOW - timedelta(hours=2))
    make_job(project, name="fresh", status=JobStatus.RUNNING, worker="gpu-1", started_at=NOW - timedelta(minutes=3),
             heartbeat_at=NOW - timedelta(seconds=5), progress=40)
    make_job(project, name="stuck", status=JobStatus.RUNNING, worker="gpu-3", started_at=NOW - timedelta(hours=1),
             heartbeat_at=NOW - timedelta(minutes=5), progress=10)
    make_job(project, name="gone", status=JobStatus.CANCELLED, finished_at=NOW - timedelta(hours=1))


@override_settings(JOB_STALE_SECONDS=60)
def test_it_counts_the_queue_now(history):
    q = ops_snapshot(now=NOW).queue
    assert q.counts == {"queued": 2, "running": 2, "succeeded": 6, "failed": 5, "cancelled": 1}
    assert q.oldest_queued_wait == timedelta(hours=2)
    assert [(r.filename, r.worker, r.stale) for r in q.running] == [("stuck", "gpu-3", True),
                                                                    ("fresh", "gpu-1", False)]
    assert q.stale_count == 1
    workers = {w.name: (w.running, w.succeeded, w.failed, w.stale) for w in q.workers}
    assert workers == {"gpu-1": (1, 4, 0, False), "gpu-2": (0, 0, 3, False), "gpu-3": (1, 0, 0, True)}


def test_it_sums_audio_per_hour_and_the_mean_rtf(history):
    t = ops_snapshot(now=NOW).throughput
    assert len(t.hours) == 24
    assert t.hours[0].start == datetime(2025, 3, 14, 13, tzinfo=UTC)
    assert t.hours[-1].start == datetime(2025, 3, 15, 12, tzinfo=UTC)
    by_hour = {h.start.hour: (h.jobs, h.audio_hours) for h in t.hours if h.jobs}
    assert by_hour == {13: (1, 2.0), 10: (1, 0.5), 12: (1, 1.0)}
    assert t.hours[-1].rtf == pytest.approx(0.1)
    assert t.jobs == 3 and t.audio_hours == pytest.approx(3.5)
    assert t.mean_rtf == pytest.approx((360 + 270 + 720) / (3600 + 1800 + 7200))


def test_it_groups_the_last_day_of_failures_by_message(history):
    f = ops_snapshot(now=NOW).failures
    assert f.total == 4
    assert [(g.error, g.count) for g in f.groups] == [("Not an audio file.", 3), ("Out of memory.", 1)]
    assert f.groups[0].last_at == NOW - timedelta(hours=1)


def test_it_sums_each_teams_audio_this_month(history):
    usage = ops_snapshot(now=NOW).usage
    assert usage.since == datetime(2025, 3, 1, tzinfo=UTC)
    assert [(t.team_name, t.jobs, round(t.audio_seconds)) for t in usage.teams] == [
        ("Alpha", 4, 3600 + 1800 + 7200 + 999), ("Beta", 1, 600)]


def test_it_starts_the_month_in_the_users_time_zone(history):
    # 2025-02-28 23:00 UTC is already March 1st in Shanghai.
    with timezone.override("Asia/Shanghai"):
        usage = ops_snapshot(now=NOW).usage
    assert [(t.team_name, round(t.audio_seconds)) for t in usage.teams][1] == ("Beta", 5600)


def test_it_shows_nothing_to_report_on_an_empty_system(db):
    snap = ops_snapshot(now=NOW)
    assert snap.queue.oldest_queued_wait is None and snap.throughput.mean_rtf is None
    assert snap.failures.groups == [] and snap.usage.teams == []


# --- the page --------------------------------------------------------------------------------

def test_it_is_for_staff_only(alice):
    for url in ("/ops/", "/ops/panel/"):
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
        assert login(alice).get(url).status_code == 404
        assert login(make_staff(f"staff{len(url)}")).get(url).status_code == 200


def test_it_links_ops_in_the_menu_for_staff_only(alice, staff):
    assert 'href="/ops/"' in login(staff).get("/").content.decode()
    assert 'href="/ops/"' not in login(alice).get("/").content.decode()


@override_settings(JOB_STALE_SECONDS=60)
def test_it_shows_the_numbers_on_the_page(project, beta, staff):
    now = timezone.now()
    succeeded(project, "morning.wav", now - timedelta(hours=3), 5400, 540)
    succeeded(beta, "evening.wav", now - timedelta(hours=6), 1800, 360)
    for i in range(2):
        make_job(project, name=f"broken{i}.bin", status=JobStatus.FAILED, error="This file has no audio track.",
                 finished_at=now - timedelta(hours=1))
    make_job(project, name="old.bin", status=JobStatus.FAILED, error="This file has no audio track.",
             finished_at=now - timedelta(days=3))
    make_job(project, name="stuck.wav", status=JobStatus.RUNNING, worker="gpu-9", started_at=now - timedelta(hours=1),
             heartbeat_at=now - timedelta(minutes=10))
    make_job(project, name="waiting.wav", queued_at=now - timedelta(minutes=45))

    client = login(staff)
    html = client.get("/ops/").content.decode()
    assert 'data-status="failed">3<' in html and 'data-status="running">1<' in html
    assert "45\xa0minutes" in html  # the oldest queued job's wait
    assert "stuck.wav" in html and "gpu-9" in html and "1 running job has a stale heartbeat." in html
    assert re.search(r'id="ops-audio-hours">\s*2\.00 h', html)
    assert 'id="ops-jobs">2<' in html
    assert re.search(r'id="ops-rtf">\s*0\.125', html)  # (540 + 360) / (5400 + 1800)
    assert html.count('class="bar"') == 24
    assert "This file has no audio track." in html and "2 jobs failed." in html
    assert "Alpha" in html and "1.50" in html and "Beta" in html and "0.50" in html

    # The failure count links to exactly those jobs in the admin.
    link = re.search(r'<a href="(/admin/transcription/job/\?[^"]+)">2</a>', html).group(1)
    listed = client.get(link.replace("&amp;", "&")).context["cl"].result_list
    assert sorted(j.media.original_name for j in listed) == ["broken0.bin", "broken1.bin"]


def test_it_links_a_very_long_failure_message_to_its_jobs(project, staff):
    long_error = "Decoder said: " + "x" * 2000
    make_job(project, name="long.bin", status=JobStatus.FAILED, error=long_error, finished_at=timezone.now())
    make_job(project, name="other.bin", status=JobStatus.FAILED, error="Other", finished_at=timezone.now())
    client = login(staff)
    html = client.get("/ops/").content.decode()
    link = re.search(r'<a href="(/admin/transcription/job/\?[^"]*error__startswith[^"]+)">1</a>', html).group(1)
    assert len(link) < 1000
    listed = client.get(link.replace("&amp;", "&")).context["cl"].result_list
    assert [j.media.original_name for j in listed] == ["long.bin"]


def test_it_refreshes_with_htmx(staff):
    client = login(staff)
    page = client.get("/ops/").content.decode()
    assert 'hx-get="/ops/panel/"' in page and 'hx-trigger="every 10s"' in page
    fragment = client.get("/ops/panel/")
    body = fragment.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="ops-panel" hx-get="/ops/panel/"')
    assert "no-cache" in fragment["Cache-Control"]


def test_it_renders_with_ten_thousand_jobs_in_a_bounded_number_of_queries(project, beta, staff,
                                                                          django_assert_max_num_queries):
    now = timezone.now()
    statuses = [JobStatus.SUCCEEDED] * 6 + [JobStatus.FAILED, JobStatus.QUEUED, JobStatus.RUNNING,
                                            JobStatus.CANCELLED]
    for p in (project, beta):
        make_jobs(
            p, 5000,
            status=lambda i: statuses[i % 10],
            worker=lambda i: f"gpu-{i % 4}",
            queued_at=lambda i: now - timedelta(minutes=i % 1440),
            started_at=lambda i: now - timedelta(minutes=i % 1440),
            heartbeat_at=lambda i: now - timedelta(seconds=i % 120),
            finished_at=lambda i: now - timedelta(minutes=(i * 7) % 2880) if statuses[i % 10] not in (
                JobStatus.QUEUED, JobStatus.RUNNING) else None,
            audio_seconds=lambda i: 60.0 + i % 600,
            processing_seconds=lambda i: 6.0 + i % 60,
            error=lambda i: f"Error kind {i % 7}" if statuses[i % 10] == JobStatus.FAILED else "",
        )
    client = login(staff)
    client.get("/")  # session and user loaded once outside the count
    # A constant, whatever the number of jobs (the workers' presence notes are the thirteenth).
    with django_assert_max_num_queries(13):
        r = client.get("/ops/")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-status="queued">1000<' in html and 'data-status="succeeded">6000<' in html
    with django_assert_max_num_queries(13):
        assert client.get("/ops/panel/").status_code == 200


def test_it_lists_an_idle_worker_that_reported_itself(staff):
    from transcription.services.worker_presence import worker_absent, worker_present

    page = login(staff).get("/ops/").content.decode()
    assert "No worker has reported in the last 24 hours." in page
    worker_present(name="gpu-node-1:4242:123.abcd")  # what an idle worker's reaper thread does each beat
    page = login(staff).get("/ops/").content.decode()
    assert "gpu-node-1:4242:123.abcd" in page and "No worker has reported" not in page
    worker_absent(name="gpu-node-1:4242:123.abcd")  # stopped cleanly
    assert "gpu-node-1:4242" not in login(staff).get("/ops/").content.decode()
