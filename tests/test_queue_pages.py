"""The pages that show jobs: my queue (live while something is active), the
project's jobs, and a job's own page with its failure and attempts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.models import Membership, Profile, Project, Role, Team
from tests.api_support import fresh_cache  # noqa: F401
from tests.conftest import login
from tests.queue_support import make_job
from transcription.models import Job, JobStatus, Transcript
from transcription.services.queue import jobs_with_queue_info, queue_positions

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_project(team, alice) -> Project:
    return Project.objects.create(team=team, name="Lectures", created_by=alice)


def test_my_queue_lists_my_jobs_from_every_project(project, second_project, alice, bob):
    make_job(project, alice, name="interview.wav", status=JobStatus.RUNNING, progress=37, stage="transcribing")
    make_job(second_project, alice, name="lecture.wav")
    make_job(project, bob, name="someone-elses.wav")
    page = login(alice).get("/queue/").content.decode()
    assert "interview.wav" in page and "lecture.wav" in page
    assert "someone-elses.wav" not in page
    assert "Interviews" in page and "Lectures" in page
    assert 'value="37"' in page and "Transcribing" in page  # progress bar and stage
    assert "#2" in page  # lecture.wav waits behind Bob's file: Bob runs nothing (fair share)


def test_my_queue_hides_jobs_of_teams_i_left(alice):
    other = Team.objects.create(name="Old team")
    project = Project.objects.create(team=other, name="Old project")
    make_job(project, alice, name="left-behind.wav")
    assert "left-behind.wav" not in login(alice).get("/queue/").content.decode()


def test_my_queue_polls_only_while_something_is_active(project, alice):
    job = make_job(project, alice)
    client = login(alice)
    page = client.get("/queue/").content.decode()
    assert 'hx-trigger="every 2s"' in page and 'hx-get="/queue/"' in page
    job.status = JobStatus.SUCCEEDED
    job.finished_at = timezone.now()
    job.save()
    fragment = client.get("/queue/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="queue"')
    assert "hx-trigger" not in fragment and "hx-get" not in fragment
    assert "<html" not in fragment


def test_the_queue_fragment_shows_live_progress(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING, progress=10)
    client = login(alice)
    assert 'value="10"' in client.get("/queue/", HTTP_HX_REQUEST="true").content.decode()
    job.progress = 64
    job.save()
    assert 'value="64"' in client.get("/queue/", HTTP_HX_REQUEST="true").content.decode()


def test_positions_follow_the_claim_order(project, alice, bob):
    running = make_job(project, alice, status=JobStatus.RUNNING)
    first = make_job(project, alice, queued_ago=100)
    second = make_job(project, alice, queued_ago=50)
    bobs = make_job(project, bob, queued_ago=1)  # fair share: Bob runs nothing
    positions = queue_positions(jobs=[running, first, second, bobs])
    assert positions == {running.pk: None, bobs.pk: 1, first.pk: 2, second.pk: 3}


def test_eta_comes_from_measured_speed(project, alice):
    now = timezone.now()
    # Recent history: 100 s of audio took 25 s (a real-time factor of 0.25).
    make_job(project, alice, status=JobStatus.SUCCEEDED, audio_seconds=100, processing_seconds=25, finished_at=now)
    running = make_job(project, alice, status=JobStatus.RUNNING, seconds=400, progress=50)
    queued = make_job(project, alice, seconds=200)
    jobs_with_queue_info([running, queued])
    # Running: 200 s of audio left → 50 s. Queued: waits for that worker, then 200 s → 50 s more.
    assert (running.eta - now).total_seconds() == pytest.approx(50, abs=5)
    assert (queued.eta - now).total_seconds() == pytest.approx(100, abs=5)
    page = login(alice).get("/queue/").content.decode()
    assert "≈ 1\xa0minute left" in page or "≈ 1 minute left" in page


def test_without_any_measurement_there_is_no_eta(project, alice):
    queued = make_job(project, alice)
    jobs_with_queue_info([queued])
    assert queued.queue_position == 1 and queued.eta is None


def test_finished_jobs_link_to_their_transcript(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    transcript = Transcript.objects.create(job=job, text="hi")
    page = login(alice).get("/queue/").content.decode()
    assert f'href="/transcripts/{transcript.pk}/"' in page


def test_a_failure_is_shown_to_the_team_and_the_traceback_to_staff_only(project, alice, bob):
    job = make_job(project, alice, status=JobStatus.FAILED, error="This file has no audio track.",
                   traceback="Traceback (most recent call last): secret internals")
    for user in (alice, bob):
        project_page = login(user).get(f"/projects/{project.pk}/").content.decode()
        job_page = login(user).get(f"/jobs/{job.pk}/").content.decode()
        assert "This file has no audio track." in project_page and "This file has no audio track." in job_page
        assert "secret internals" not in project_page + job_page
    alice.is_staff = True
    alice.save()
    assert "secret internals" in login(alice).get(f"/jobs/{job.pk}/").content.decode()


def test_the_job_page_shows_the_history_of_attempts(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING)
    job.attempt_log.update(ended_at=timezone.now(), outcome="lost", error="The worker stopped responding.")
    page = login(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Worker stopped responding" in page and "1 of 3" in page


def test_the_project_page_lists_jobs_with_cancel_and_retry_for_writers(project, alice, bob):
    queued = make_job(project, alice, name="waiting.wav")
    failed = make_job(project, alice, name="broken.wav", status=JobStatus.FAILED, error="bad")
    page = login(alice).get(f"/projects/{project.pk}/").content.decode()
    assert f'action="/jobs/{queued.pk}/cancel/"' in page
    assert f'action="/jobs/{failed.pk}/retry/"' in page
    assert f'action="/projects/{project.pk}/retry-failed/"' in page
    viewer = login(bob).get(f"/projects/{project.pk}/").content.decode()
    assert "waiting.wav" in viewer and "broken.wav" in viewer
    assert "/cancel/" not in viewer and "/retry" not in viewer


def test_the_project_jobs_fragment_polls_while_jobs_are_active(project, alice):
    client = login(alice)
    empty = client.get(f"/projects/{project.pk}/jobs/").content.decode()
    assert "hx-trigger" not in empty
    make_job(project, alice)
    fragment = client.get(f"/projects/{project.pk}/jobs/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and fragment.startswith('<div id="jobs"')


def test_the_project_page_filters_by_status(project, alice):
    make_job(project, alice, name="waiting.wav")
    make_job(project, alice, name="broken.wav", status=JobStatus.FAILED)
    page = login(alice).get(f"/projects/{project.pk}/?status=failed").content.decode()
    assert "broken.wav" in page and "waiting.wav" not in page


def test_the_navigation_links_my_queue(alice):
    assert 'href="/queue/"' in login(alice).get("/").content.decode()


def test_queue_pages_need_a_login_and_keep_outsiders_out(project, alice, charlie, client):
    job = make_job(project, alice)
    for url in ("/queue/", f"/jobs/{job.pk}/", f"/projects/{project.pk}/jobs/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert login(charlie).get(f"/jobs/{job.pk}/").status_code == 404
    assert login(charlie).get(f"/projects/{project.pk}/jobs/").status_code == 404
    assert login(charlie).get("/jobs/not-a-uuid/").status_code == 404


def test_a_job_in_a_team_where_i_became_viewer_has_no_buttons_in_my_queue(project, alice, team):
    make_job(project, alice, queued_ago=timedelta(minutes=1).total_seconds())
    Membership.objects.filter(team=team, user=alice).update(role=Role.VIEWER)
    page = login(alice).get("/queue/").content.decode()
    assert "/cancel/" not in page


def test_a_row_shows_names_and_errors_as_text_and_a_stopping_job_as_stopping(project, alice):
    make_job(project, alice, name='<img src=x onerror="alert(1)">.wav', status=JobStatus.FAILED,
             error="<script>alert(2)</script>")
    stopping = make_job(project, alice, name="long meeting.wav", status=JobStatus.RUNNING, cancel_requested=True)
    for page in (login(alice).get(f"/projects/{project.pk}/").content.decode(),
                 login(alice).get("/queue/").content.decode()):
        assert "<img src=x" not in page and "<script>alert(2)" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.wav" in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
        row = page.split(f'id="job-{stopping.pk}"')[1].split("</tr>")[0]
        assert "Stopping…" in row and "/cancel/" not in row  # already asked to stop


def test_rows_read_in_the_language_of_the_person(project, alice):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans"})
    job = make_job(project, alice, name="会议.wav", status=JobStatus.RUNNING, progress=40)
    page = login(alice).get("/queue/").content.decode()
    row = page.split(f'id="job-{job.pk}"')[1].split("</tr>")[0]
    assert "运行中" in row
    assert 'aria-label="进度"' in row and "40%" in row


def test_a_page_of_rows_costs_the_same_queries_as_one_row_and_never_reads_transcripts(project, alice):
    def one_of_each(n: int) -> None:
        done = make_job(project, alice, name=f"done-{n}.wav", status=JobStatus.SUCCEEDED, finished_at=timezone.now())
        Transcript.objects.create(job=done, text="很长的会议记录。" * 2000)
        make_job(project, alice, name=f"broken-{n}.wav", status=JobStatus.FAILED, error="bad")
        make_job(project, alice, name=f"waiting-{n}.wav", urgent=True)

    one_of_each(0)
    make_job(project, alice, name="now.wav", status=JobStatus.RUNNING, cancel_requested=True)
    client = login(alice)
    counts = {}
    for n in range(1, 9):  # 25 rows: a full page
        one_of_each(n)
    for url in (f"/projects/{project.pk}/", "/queue/"):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[url] = len(queries)
        assert not any('"transcription_transcript"."text"' in q["sql"] for q in queries.captured_queries)
    Job.objects.filter(project=project).exclude(media__original_name__in=["done-0.wav", "now.wav"]).delete()
    for url, many in counts.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == many, url


def test_each_list_on_the_queue_pages_is_one_query_with_its_length(project, alice, team, settings):
    """On PostgreSQL every query is a round trip to another process (milliseconds each on a busy
    machine), so a list's page and its length come together, and My queue reads the person's role
    with the rows instead of one more query for their memberships."""
    settings.QUEUE_SNAPSHOT_MIN_JOBS = 0  # the shared schedule, as with a long queue: not worked out per page
    settings.QUEUE_SNAPSHOT_SECONDS = 3600  # one window for the whole test
    for n in range(3):
        make_job(project, alice, name=f"done-{n}.wav", status=JobStatus.SUCCEEDED, finished_at=timezone.now())
        make_job(project, alice, name=f"waiting-{n}.wav")
    client = login(alice)
    for url, most in (("/queue/", 7), (f"/projects/{project.pk}/", 10)):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content.decode()
        sql = [q["sql"] for q in queries.captured_queries]
        assert not [q for q in sql if q.startswith('SELECT COUNT(*) AS "__count"')], url
        assert len(sql) <= most, (url, sql)
        assert "done-2.wav" in page and "waiting-2.wav" in page
    Membership.objects.filter(team=team, user=alice).update(role=Role.VIEWER)
    assert "/cancel/" not in client.get("/queue/").content.decode()


def job_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="job-[0-9a-f-]+"[^>]*>.*?(clip-\d+)\.wav', html, flags=re.S)


@pytest.mark.parametrize(("asked", "shown"), [("2", 2), ("99", 2), ("0", 2), ("-1", 2), ("x", 1), ("²", 1),
                                              ("1.0", 1), ("", 1)])
def test_a_page_number_past_the_end_shows_the_last_page_and_a_bad_one_the_first(project, alice, asked, shown):
    for n in range(30):
        make_job(project, alice, name=f"clip-{n}.wav", status=JobStatus.SUCCEEDED)
    page = login(alice).get(f"/projects/{project.pk}/?page={asked}").content.decode()
    expected = [f"clip-{n}" for n in range(29, -1, -1)][(shown - 1) * 25:shown * 25]
    assert job_rows(page) == expected
