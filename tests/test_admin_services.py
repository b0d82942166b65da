"""The admin changes teams, projects, accounts and jobs only through the
same services as the app: the team rules hold, stored files go with their
project, and the audit log says which staff member did what."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from portal.models import AuditEvent, Membership, Project, Role, Team
from tests.conftest import login
from tests.ops_support import make_staff, team_page_form
from tests.queue_support import make_job
from transcription.job_states import JobStatus
from transcription.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def staff(db) -> User:
    return make_staff()


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def messages_after(client, response) -> list[str]:
    assert response.status_code == 302, response.status_code
    return [str(m) for m in client.get(response["Location"]).context["messages"]]


def test_it_refuses_to_delete_the_last_owner_in_the_admin(team, alice, staff):
    owner = Membership.objects.get(team=team, user=alice)
    client = login(staff)
    r = client.post(f"/admin/portal/membership/{owner.pk}/delete/", {"post": "yes"})
    assert "A team needs at least one owner. Make someone else an owner first." in messages_after(client, r)
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()
    assert not AuditEvent.objects.filter(action="member.remove").exists()


def test_it_refuses_to_leave_a_team_without_an_owner_from_the_team_page_in_the_admin(team, alice, bob, staff):
    owner = Membership.objects.get(team=team, user=alice)
    viewer = Membership.objects.get(team=team, user=bob)
    data = team_page_form(team, [(owner, alice, Role.MEMBER), (viewer, bob, Role.VIEWER)])
    client = login(staff)
    r = client.post(f"/admin/portal/team/{team.pk}/change/", data)
    assert "A team needs at least one owner. Make someone else an owner first." in messages_after(client, r)
    assert Membership.objects.get(pk=owner.pk).role == Role.OWNER


def test_it_refuses_to_delete_the_only_owner_of_a_team(team, alice, charlie, staff):
    client = login(staff)
    r = client.post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
    assert "alice is the only owner of the team Alpha. Make someone else an owner of it first." in messages_after(
        client, r)
    assert User.objects.filter(pk=alice.pk).exists()
    client.post(f"/admin/auth/user/{charlie.pk}/delete/", {"post": "yes"})
    assert not User.objects.filter(pk=charlie.pk).exists()


def test_deleting_a_project_in_the_admin_removes_its_files(project, alice, staff, media_root,
                                                          django_capture_on_commit_callbacks):
    make_job(project, alice, store=True, name="a.wav")
    make_job(project, alice, store=True, name="b.wav")
    other = Project.objects.create(team=project.team, name="Other", created_by=alice)
    kept = make_job(other, alice, store=True, name="kept.wav")
    assert len(stored_files(media_root)) == 3
    client = login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/admin/portal/project/{project.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()
    assert [p.name for p in stored_files(media_root)] == [Path(kept.media.file.name).name]
    event = AuditEvent.objects.get(action="project.delete")
    assert (event.actor_name, event.object_repr, event.detail) == ("sam", "Interviews", {"media": 2, "via": "admin"})


def test_deleting_projects_and_teams_in_bulk_in_the_admin_removes_their_files(project, alice, staff, media_root,
                                                                             django_capture_on_commit_callbacks):
    make_job(project, alice, store=True)
    other_team = Team.objects.create(name="Beta")
    Membership.objects.create(team=other_team, user=alice, role=Role.OWNER)
    make_job(Project.objects.create(team=other_team, name="P", created_by=alice), alice, store=True)
    client = login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/portal/project/", {"action": "delete_selected", "_selected_action": [str(project.pk)],
                                               "post": "yes"})
    assert len(stored_files(media_root)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/portal/team/{other_team.pk}/delete/", {"post": "yes"})
    assert stored_files(media_root) == []
    assert not Team.objects.filter(pk=other_team.pk).exists()


def test_job_actions_record_who_did_them_on_the_job_page_and_in_the_admin(project, alice, staff):
    job = make_job(project, alice, status=JobStatus.FAILED, error="boom")
    login(alice).post(f"/jobs/{job.pk}/retry/")
    client = login(staff)
    client.post(f"/admin/transcription/job/{job.pk}/cancel/")
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELLED
    events = list(AuditEvent.objects.filter(object_id=str(job.pk)).order_by("id")
                  .values_list("action", "actor_name", "detail"))
    assert events == [("job.retry", "alice", {}), ("job.cancel", "sam", {"via": "admin"})]
    page = login(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "retried job by alice" in page and "cancelled job by sam" in page
    admin_page = client.get(f"/admin/transcription/job/{job.pk}/change/").content.decode()
    assert "sam" in admin_page and "cancelled job" in admin_page and "retried job" in admin_page


def test_team_settings_ticked_in_the_admin_are_saved_and_audited(team, alice, staff):
    data = team_page_form(team, [(Membership.objects.get(team=team, user=alice), alice, Role.OWNER)])
    data.update(allow_urgent="on", review_second_person="on")
    client = login(staff)
    r = client.post(f"/admin/portal/team/{team.pk}/change/", data)
    assert r.status_code == 302
    team.refresh_from_db()
    assert team.allow_urgent is True  # the box was ticked, staff were told it saved: it must be
    event = AuditEvent.objects.get(action="team.settings")
    assert event.actor == staff and event.detail == {"allow_urgent": True, "via": "admin"}


def test_api_tokens_made_and_revoked_anywhere_are_audited(alice, staff):
    from api.models import ApiToken

    client = login(alice)
    client.post("/settings/tokens/", {"name": "laptop"})
    token = ApiToken.objects.get(name="laptop")
    client.post(f"/settings/tokens/{token.pk}/revoke/")
    from rest_framework.test import APIClient

    APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "password"}, format="json")
    by_api = ApiToken.objects.get(user=alice)
    login(staff).post(f"/admin/api/apitoken/{by_api.pk}/delete/", {"post": "yes"})
    events = list(AuditEvent.objects.filter(action__startswith="token.").order_by("id")
                  .values_list("action", "actor__username", "detail__via"))
    assert events == [("token.create", "alice", None), ("token.revoke", "alice", None),
                      ("token.create", "alice", "api"), ("token.revoke", "sam", "admin")]
    assert not ApiToken.objects.exists()
    # The prefix shown on the tokens page, never the key.
    for detail in AuditEvent.objects.filter(action__startswith="token.").values_list("detail", flat=True):
        assert set(detail) <= {"prefix", "via"} and len(detail["prefix"]) == 10
