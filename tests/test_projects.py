from __future__ import annotations

import pytest

from portal.models import Membership, Project, Role
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_creates_a_project_with_hotwords(team, alice):
    r = login(alice).post(f"/teams/{team.id}/projects/new/",
                          {"name": "Calls", "hotwords": "FunASR\n达摩院, Paraformer\nFunASR"})
    project = Project.objects.get(name="Calls")
    assert r["Location"] == f"/projects/{project.id}/"
    assert project.hotwords == ["FunASR", "达摩院", "Paraformer"]


def test_viewer_sees_project_read_only(project, bob):
    r = login(bob).get(f"/projects/{project.id}/")
    assert r.status_code == 200
    assert b"Read-only" in r.content and b"Edit project" not in r.content


def test_outsider_gets_404_on_project(project, charlie):
    c = login(charlie)
    for url in (f"/projects/{project.id}/", f"/projects/{project.id}/edit/", f"/projects/{project.id}/delete/"):
        assert c.get(url).status_code == 404, url


def test_viewer_cannot_create_rename_or_delete(team, project, bob):
    c = login(bob)
    assert c.post(f"/teams/{team.id}/projects/new/", {"name": "X"}).status_code == 403
    assert c.post(f"/projects/{project.id}/edit/", {"name": "X"}).status_code == 403
    assert c.post(f"/projects/{project.id}/delete/").status_code == 403
    project.refresh_from_db()
    assert project.name == "Interviews"


def test_member_cannot_manage_projects(team, project, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    assert login(charlie).post(f"/projects/{project.id}/delete/").status_code == 403


def test_it_renames_a_project(project, alice):
    login(alice).post(f"/projects/{project.id}/edit/", {"name": "Renamed", "hotwords": ""})
    project.refresh_from_db()
    assert project.name == "Renamed" and project.hotwords == []


def test_it_deletes_a_project_after_confirmation(project, alice):
    c = login(alice)
    r = c.get(f"/projects/{project.id}/delete/")
    assert b"cannot be undone" in r.content
    assert Project.objects.filter(pk=project.pk).exists()
    r = c.post(f"/projects/{project.id}/delete/")
    assert r["Location"] == f"/teams/{project.team_id}/"
    assert not Project.objects.filter(pk=project.pk).exists()
