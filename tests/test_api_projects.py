"""GET/POST /api/v1/projects/ and GET /api/v1/projects/{id}/."""

from __future__ import annotations

import pytest

from portal.models import Membership, Project, Role, Team
from tests.api_support import MISSING, api, fresh_cache  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_lists_projects_in_my_teams_by_name(team, project, alice, bob, charlie):
    zeta = Project.objects.create(team=team, name="Zeta", hotwords=["FunASR"])
    other = Team.objects.create(name="Other")
    Project.objects.create(team=other, name="Secret")
    r = api(bob).get("/api/v1/projects/")
    assert r.status_code == 200
    assert r.json() == {"count": 2, "next": None, "previous": None, "results": [
        {"id": str(project.id), "team": str(team.id), "name": "Interviews", "hotwords": []},
        {"id": str(zeta.id), "team": str(team.id), "name": "Zeta", "hotwords": ["FunASR"]},
    ]}
    assert api(charlie).get("/api/v1/projects/").json()["results"] == []


def test_it_creates_a_project(team, alice):
    r = api(alice).post("/api/v1/projects/", {"team": str(team.id), "name": "Podcasts",
                                              "hotwords": ["Paraformer", " ", "Paraformer", "通义"]},
                        format="json")
    assert r.status_code == 201
    project = Project.objects.get(name="Podcasts")
    assert r.json() == {"id": str(project.id), "team": str(team.id), "name": "Podcasts",
                        "hotwords": ["Paraformer", "通义"]}
    assert project.created_by == alice and project.team == team


def test_it_creates_a_project_without_hotwords(team, alice):
    r = api(alice).post("/api/v1/projects/", {"team": str(team.id), "name": "Calls"}, format="json")
    assert r.status_code == 201 and r.json()["hotwords"] == []


def test_it_explains_invalid_project_fields(team, alice):
    r = api(alice).post("/api/v1/projects/", {"team": "nope", "name": ""}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body["detail"] == "team: Must be a valid UUID. name: This field may not be blank."
    assert set(body["errors"]) == {"team", "name"}
    r = api(alice).post("/api/v1/projects/", {"team": str(team.id), "name": "x", "hotwords": "a,b"},
                        format="json")
    assert r.status_code == 400 and r.json()["detail"].startswith("hotwords: Expected a list")
    assert not Project.objects.exists()


def test_it_lets_only_owners_and_admins_create_projects(team, bob, django_user_model):
    r = api(bob).post("/api/v1/projects/", {"team": str(team.id), "name": "Nope"}, format="json")
    assert r.status_code == 403 and r.json() == {"detail": "Only team owners and admins can do this."}
    erin = django_user_model.objects.create_user("erin", "erin@example.org", "password")
    Membership.objects.create(team=team, user=erin, role=Role.MEMBER)
    assert api(erin).post("/api/v1/projects/", {"team": str(team.id), "name": "Nope"},
                          format="json").status_code == 403
    assert not Project.objects.exists()


def test_it_hides_other_teams_when_creating_projects(team, charlie):
    r = api(charlie).post("/api/v1/projects/", {"team": str(team.id), "name": "Sneaky"}, format="json")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    r = api(charlie).post("/api/v1/projects/", {"team": MISSING, "name": "Sneaky"}, format="json")
    assert r.status_code == 404
    assert not Project.objects.exists()


def test_it_shows_one_project(project, team, bob):
    r = api(bob).get(f"/api/v1/projects/{project.id}/")
    assert r.status_code == 200
    assert r.json() == {"id": str(project.id), "team": str(team.id), "name": "Interviews", "hotwords": []}


def test_it_hides_a_project_from_outsiders(project, charlie):
    r = api(charlie).get(f"/api/v1/projects/{project.id}/")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


@pytest.mark.parametrize("project_id", ["not-a-uuid", MISSING, "123", "../teams"])
def test_it_answers_404_for_malformed_or_unknown_project_ids(alice, project_id):
    r = api(alice).get(f"/api/v1/projects/{project_id}/")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_it_answers_401_to_anonymous_on_projects(project):
    assert api().get("/api/v1/projects/").status_code == 401
    assert api().post("/api/v1/projects/", {"team": str(project.team_id), "name": "x"},
                      format="json").status_code == 401
    assert api().get(f"/api/v1/projects/{project.id}/").status_code == 401


def test_it_refuses_other_methods_on_projects(alice, project):
    assert api(alice).delete("/api/v1/projects/").status_code == 405
    for method in ("put", "patch", "delete", "post"):
        r = getattr(api(alice), method)(f"/api/v1/projects/{project.id}/", {"name": "x"}, format="json")
        assert r.status_code == 405, method
    assert Project.objects.get().name == "Interviews"


def test_it_answers_json_404_for_unknown_api_paths(alice):
    r = api(alice).get("/api/v1/nothing-here/")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}


def test_it_redirects_a_path_without_its_trailing_slash(alice):
    r = api(alice).get("/api/v1/projects")
    assert r.status_code == 301 and r["Location"] == "/api/v1/projects/"
