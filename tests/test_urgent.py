"""Urgent uploads: a team setting (off by default) that owners and admins
change, an upload option that puts files ahead of the fair-share order, and
a clear refusal where the team does not allow it."""

from __future__ import annotations

import pytest

from portal.models import AuditEvent, Membership, Role
from tests.api_support import api
from tests.conftest import login
from tests.queue_support import make_job, tone_wav, upload
from transcription.models import Job
from transcription.services.claim import job_claim

pytestmark = pytest.mark.django_db


def test_owners_and_admins_turn_urgent_uploads_on_and_others_cannot(team, alice, bob):
    assert not team.allow_urgent
    assert login(bob).post(f"/teams/{team.pk}/settings/", {"allow_urgent": "1"}).status_code == 403
    # The settings form as the page sends it: the second-person box (on by default) stays ticked.
    page_form = {"allow_urgent": "1", "review_second_person": "1", "llm_allowed": "1"}
    r = login(alice).post(f"/teams/{team.pk}/settings/", page_form, follow=True)
    assert "Team settings saved." in r.content.decode()
    team.refresh_from_db()
    assert team.allow_urgent
    assert AuditEvent.objects.get(action="team.settings").detail == {"allow_urgent": True}
    login(alice).post(f"/teams/{team.pk}/settings/", {"review_second_person": "1", "llm_allowed": "1"})
    team.refresh_from_db()
    assert not team.allow_urgent


def test_an_urgent_upload_goes_ahead_of_older_files(team, project, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    older = [make_job(project, bob, name=f"old-{i}.wav", queued_ago=600) for i in range(3)]
    team.allow_urgent = True
    team.save()
    page = login(alice).get(f"/projects/{project.pk}/").content.decode()
    assert 'name="urgent"' in page
    login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("now.wav", tone_wav())], "urgent": "1"})
    urgent = Job.objects.get(media__original_name="now.wav")
    assert urgent.urgent and urgent.priority > 0
    assert job_claim(worker="w").pk == urgent.pk
    assert {job_claim(worker="w").pk for _ in older} == {j.pk for j in older}


def test_an_urgent_upload_is_refused_where_the_team_does_not_allow_it(project, alice):
    page = login(alice).get(f"/projects/{project.pk}/").content.decode()
    assert 'name="urgent"' not in page
    r = login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("now.wav", tone_wav())], "urgent": "1"},
                          HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and "does not allow urgent uploads" in r.json()["detail"]
    r = api(alice).post(f"/api/v1/projects/{project.pk}/uploads/", {"file": [upload("now.wav", tone_wav())],
                                                                    "urgent": "true"}, format="multipart")
    assert r.status_code == 403 and "does not allow urgent uploads" in r.json()["detail"]
    assert not Job.objects.exists()


def test_the_api_takes_urgent_as_a_boolean(team, project, alice):
    team.allow_urgent = True
    team.save()
    client = api(alice)
    r = client.post(f"/api/v1/projects/{project.pk}/uploads/", {"file": [upload("a.wav", tone_wav())],
                                                                "urgent": "maybe"}, format="multipart")
    assert r.status_code == 400 and r.json()["detail"].startswith("urgent:")
    r = client.post(f"/api/v1/projects/{project.pk}/uploads/", {"file": [upload("a.wav", tone_wav())],
                                                                "urgent": "true"}, format="multipart")
    assert r.status_code == 201 and Job.objects.get().urgent
