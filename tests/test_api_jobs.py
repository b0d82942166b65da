"""GET /api/v1/jobs/ (filters, pagination), GET /api/v1/jobs/{id}/, cancel, retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import Membership, Project, Role, Team
from tests.api_support import MISSING, api, fresh_cache, make_job, make_transcript  # noqa: F401
from transcription.models import Job, JobStatus

pytestmark = pytest.mark.django_db

JOB_FIELDS = {"id", "project", "filename", "status", "progress", "queue_position", "attempts", "error",
              "audio_seconds", "created_at", "started_at", "finished_at", "transcript", "options"}


def test_it_shows_a_job_with_every_documented_field(project, alice, bob):
    job = make_job(project, alice, filename="会议 2024.m4a")
    r = api(bob).get(f"/api/v1/jobs/{job.id}/")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == JOB_FIELDS
    assert body["id"] == str(job.id) and body["project"] == str(project.id)
    assert body["filename"] == "会议 2024.m4a" and body["status"] == "queued"
    assert body["queue_position"] == 1 and body["transcript"] is None
    assert body["progress"] == 0 and body["attempts"] == 0 and body["error"] == ""
    assert body["audio_seconds"] is None and body["started_at"] is None and body["finished_at"] is None
    assert body["created_at"].startswith(str(timezone.now().year))


def test_it_links_a_succeeded_job_to_its_transcript(project, alice):
    transcript = make_transcript(project, alice)
    body = api(alice).get(f"/api/v1/jobs/{transcript.job_id}/").json()
    assert body["status"] == "succeeded" and body["transcript"] == str(transcript.id)
    assert body["audio_seconds"] == 6.0 and body["queue_position"] is None and body["progress"] == 100


def test_it_numbers_queue_positions_in_claim_order(project, alice):
    first = make_job(project, alice)
    second = make_job(project, alice)
    urgent = make_job(project, alice, priority=5)
    running = make_job(project, alice, status=JobStatus.RUNNING)
    jobs = {j["id"]: j["queue_position"] for j in api(alice).get("/api/v1/jobs/").json()["results"]}
    assert jobs == {str(urgent.id): 1, str(first.id): 2, str(second.id): 3, str(running.id): None}


def test_it_lists_jobs_of_my_teams_newest_first(project, alice, bob, charlie):
    old = make_job(project, alice)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    new = make_job(project, alice)
    other = Team.objects.create(name="Other")
    Membership.objects.create(team=other, user=charlie, role=Role.OWNER)
    make_job(Project.objects.create(team=other, name="Theirs"), charlie)
    r = api(bob).get("/api/v1/jobs/")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [j["id"] for j in body["results"]] == [str(new.id), str(old.id)]
    assert set(body["results"][0]) == JOB_FIELDS
    assert api(charlie).get("/api/v1/jobs/").json()["count"] == 1


def test_it_pages_through_jobs_in_a_stable_order(project, alice):
    created = timezone.now()
    jobs = [make_job(project, alice) for _ in range(5)]
    Job.objects.update(created_at=created)  # same timestamp: the id breaks the tie
    seen = []
    url = "/api/v1/jobs/?page_size=2"
    client = api(alice)
    while url:
        body = client.get(url).json()
        assert body["count"] == 5
        seen += [j["id"] for j in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(str(j.id) for j in jobs) and len(seen) == 5
    assert seen == sorted(seen, reverse=True)


def test_it_filters_jobs_by_status_and_project(project, team, alice):
    other = Project.objects.create(team=team, name="Other")
    failed = make_job(project, alice, status=JobStatus.FAILED, error="This file has no audio track.")
    make_job(project, alice)
    elsewhere = make_job(other, alice, status=JobStatus.FAILED)
    client = api(alice)
    by_status = client.get("/api/v1/jobs/?status=failed").json()["results"]
    assert {j["id"] for j in by_status} == {str(failed.id), str(elsewhere.id)}
    both = client.get(f"/api/v1/jobs/?status=failed&project={project.id}").json()
    assert [j["id"] for j in both["results"]] == [str(failed.id)]
    assert both["results"][0]["error"] == "This file has no audio track."
    assert client.get(f"/api/v1/jobs/?project={other.id}").json()["count"] == 1


def test_it_explains_invalid_job_filters(alice):
    r = api(alice).get("/api/v1/jobs/?status=done")
    assert r.status_code == 400
    assert r.json() == {"detail": "Unknown status 'done': use one of queued, running, succeeded, failed, cancelled."}
    r = api(alice).get("/api/v1/jobs/?project=42")
    assert r.status_code == 400 and r.json() == {"detail": "project must be a project id (a UUID)."}


def test_it_lists_nothing_for_another_teams_project(project, alice, charlie):
    make_job(project, alice)
    assert api(charlie).get(f"/api/v1/jobs/?project={project.id}").json()["count"] == 0


def test_it_hides_jobs_from_outsiders(project, alice, charlie):
    job = make_job(project, alice)
    for r in (api(charlie).get(f"/api/v1/jobs/{job.id}/"),
              api(charlie).post(f"/api/v1/jobs/{job.id}/cancel/"),
              api(charlie).post(f"/api/v1/jobs/{job.id}/retry/")):
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert Job.objects.get().status == JobStatus.QUEUED


@pytest.mark.parametrize("job_id", ["not-a-uuid", MISSING, "0"])
@pytest.mark.parametrize("suffix", ["", "cancel/", "retry/"])
def test_it_answers_404_for_malformed_or_unknown_job_ids(alice, job_id, suffix):
    client = api(alice)
    r = client.post(f"/api/v1/jobs/{job_id}/{suffix}") if suffix else client.get(f"/api/v1/jobs/{job_id}/")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_it_answers_401_to_anonymous_on_jobs(project, alice):
    job = make_job(project, alice)
    assert api().get("/api/v1/jobs/").status_code == 401
    assert api().get(f"/api/v1/jobs/{job.id}/").status_code == 401
    assert api().post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 401
    assert api().post(f"/api/v1/jobs/{job.id}/retry/").status_code == 401
    assert Job.objects.get().status == JobStatus.QUEUED


def test_it_refuses_other_methods_on_jobs(project, alice):
    job = make_job(project, alice)
    client = api(alice)
    assert client.post("/api/v1/jobs/", {}).status_code == 405
    assert client.delete(f"/api/v1/jobs/{job.id}/").status_code == 405
    assert client.patch(f"/api/v1/jobs/{job.id}/", {"status": "succeeded"}, format="json").status_code == 405
    assert client.get(f"/api/v1/jobs/{job.id}/cancel/").status_code == 405
    assert client.get(f"/api/v1/jobs/{job.id}/retry/").status_code == 405
    assert Job.objects.get().status == JobStatus.QUEUED


# --- cancel / retry ----------------------------------------------------------------


def test_it_cancels_a_queued_job(project, alice):
    job = make_job(project, alice)
    r = api(alice).post(f"/api/v1/jobs/{job.id}/cancel/")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled" and r.json()["finished_at"] is not None
    assert r.json()["queue_position"] is None
    assert Job.objects.get().status == JobStatus.CANCELLED


def test_it_asks_a_running_job_to_stop(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING, attempts=1)
    r = api(alice).post(f"/api/v1/jobs/{job.id}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "running"
    assert Job.objects.get().cancel_requested


def test_it_answers_409_when_cancelling_a_finished_job(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED)
    r = api(alice).post(f"/api/v1/jobs/{job.id}/cancel/")
    assert r.status_code == 409 and r.json() == {"detail": "This job has already finished."}


def test_it_retries_a_failed_job(project, alice):
    job = make_job(project, alice, status=JobStatus.FAILED, attempts=3, max_attempts=3,
                   error="The worker stopped responding 3 times; giving up.")
    r = api(alice).post(f"/api/v1/jobs/{job.id}/retry/")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "queued" and body["error"] == "" and body["finished_at"] is None
    assert body["queue_position"] == 1
    assert Job.objects.get().status == JobStatus.QUEUED


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED])
def test_it_answers_409_when_retrying_a_job_that_did_not_fail(project, alice, status):
    job = make_job(project, alice, status=status)
    r = api(alice).post(f"/api/v1/jobs/{job.id}/retry/")
    assert r.status_code == 409 and r.json() == {"detail": "Only failed or cancelled jobs can be retried."}
    assert Job.objects.get().status == status


def test_it_forbids_viewers_to_cancel_or_retry(project, alice, bob):
    queued = make_job(project, alice)
    failed = make_job(project, alice, status=JobStatus.FAILED)
    r = api(bob).post(f"/api/v1/jobs/{queued.id}/cancel/")
    assert r.status_code == 403 and r.json() == {"detail": "Viewers can read but not change anything."}
    assert api(bob).post(f"/api/v1/jobs/{failed.id}/retry/").status_code == 403
    assert Job.objects.get(pk=queued.pk).status == JobStatus.QUEUED
    assert Job.objects.get(pk=failed.pk).status == JobStatus.FAILED


def test_it_lets_a_team_member_cancel_a_colleagues_job(project, alice, charlie):
    Membership.objects.create(team=project.team, user=charlie, role=Role.MEMBER)
    job = make_job(project, alice)
    assert api(charlie).post(f"/api/v1/jobs/{job.id}/cancel/").status_code == 200
