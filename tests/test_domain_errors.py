"""A refused request (portal.errors.DomainError) is answered the same way
wherever a service raises it: JSON for scripts, the message on the page a
form came from, or an error page with the right status; the API always
answers {"detail"}."""

from __future__ import annotations

import pytest

from tests.api_support import api
from tests.conftest import login
from tests.queue_support import make_job
from transcription.job_states import JobStatus

pytestmark = pytest.mark.django_db


def test_a_script_gets_json_with_the_status(project, alice):
    job = make_job(project, alice, status=JobStatus.SUCCEEDED)
    for headers in ({"HTTP_ACCEPT": "application/json"}, {"HTTP_HX_REQUEST": "true"}):
        r = login(alice).post(f"/jobs/{job.pk}/cancel/", **headers)
        assert r.status_code == 409 and r.json() == {"detail": "This job has already finished."}


def test_a_form_post_goes_back_to_its_page_with_the_message(team, alice):
    client = login(alice)
    page = f"/teams/{team.pk}/"
    r = client.post(f"/teams/{team.pk}/members/role/", {"username": "alice", "role": "member"}, HTTP_REFERER=page)
    assert r.status_code == 302 and r["Location"] == page
    followed = client.get(page)
    assert "A team needs at least one owner." in followed.content.decode()


def test_a_post_from_elsewhere_gets_an_error_page_with_the_status(team, alice):
    r = login(alice).post(f"/teams/{team.pk}/members/role/", {"username": "alice", "role": "member"},
                          HTTP_REFERER="https://evil.example/")
    assert r.status_code == 400
    html = r.content.decode()
    assert "This could not be done" in html and "A team needs at least one owner." in html
    assert "evil.example" not in html


def test_the_api_answers_detail_and_the_status(project, alice):
    job = make_job(project, alice, status=JobStatus.QUEUED)
    r = api(alice).post(f"/api/v1/jobs/{job.pk}/retry/")
    assert r.status_code == 409 and r.json() == {"detail": "Only failed or cancelled jobs can be retried."}
