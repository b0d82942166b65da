"""GET/POST /api/v1/teams/ and POST /api/v1/teams/{id}/members/."""

from __future__ import annotations

import pytest

from portal.models import AuditEvent, Membership, Role, Team
from tests.api_support import MISSING, api, fresh_cache  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_lists_my_teams_with_my_role(team, alice, bob, charlie):
    Team.objects.create(name="Not mine")
    beta = Team.objects.create(name="Beta")
    Membership.objects.create(team=beta, user=bob, role=Role.ADMIN)
    r = api(bob).get("/api/v1/teams/")
    assert r.status_code == 200
    assert r.json() == {"count": 2, "next": None, "previous": None, "results": [
        {"id": str(team.id), "name": "Alpha", "role": "viewer"},
        {"id": str(beta.id), "name": "Beta", "role": "admin"},
    ]}
    assert api(charlie).get("/api/v1/teams/").json()["count"] == 0


def test_it_paginates_teams(alice):
    for i in range(3):
        api_client = api(alice)
        api_client.post("/api/v1/teams/", {"name": f"T{i}"}, format="json")
    r = api(alice).get("/api/v1/teams/?page_size=2")
    body = r.json()
    assert body["count"] == 3 and [t["name"] for t in body["results"]] == ["T0", "T1"]
    assert body["next"].endswith("/api/v1/teams/?page=2&page_size=2")
    last = api(alice).get(body["next"]).json()
    assert [t["name"] for t in last["results"]] == ["T2"] and last["next"] is None
    assert api(alice).get("/api/v1/teams/?page=9").status_code == 404


def test_it_creates_a_team_with_me_as_owner(alice):
    r = api(alice).post("/api/v1/teams/", {"name": " Research "}, format="json")
    assert r.status_code == 201
    team = Team.objects.get()
    assert r.json() == {"id": str(team.id), "name": "Research", "role": "owner"}
    assert Membership.objects.get(team=team, user=alice).role == Role.OWNER


def test_it_rejects_a_blank_or_long_team_name(alice):
    r = api(alice).post("/api/v1/teams/", {"name": "  "}, format="json")
    assert r.status_code == 400 and r.json()["detail"] == "name: This field may not be blank."
    r = api(alice).post("/api/v1/teams/", {"name": "x" * 101}, format="json")
    assert r.status_code == 400 and "no more than 100 characters" in r.json()["detail"]
    assert not Team.objects.exists()


def test_it_answers_401_to_anonymous_on_teams(team):
    assert api().get("/api/v1/teams/").status_code == 401
    assert api().post("/api/v1/teams/", {"name": "x"}, format="json").status_code == 401
    r = api().post(f"/api/v1/teams/{team.id}/members/", {"username": "bob", "role": "member"}, format="json")
    assert r.status_code == 401


def test_it_refuses_other_methods_on_teams(alice, team):
    assert api(alice).put("/api/v1/teams/", {"name": "x"}, format="json").status_code == 405
    assert api(alice).delete("/api/v1/teams/").status_code == 405
    r = api(alice).get(f"/api/v1/teams/{team.id}/members/")
    assert r.status_code == 405 and r.json() == {"detail": 'Method "GET" not allowed.'}


# --- members -----------------------------------------------------------------------


def test_it_adds_a_member_by_username(team, alice, charlie):
    r = api(alice).post(f"/api/v1/teams/{team.id}/members/", {"username": "charlie", "role": "member"},
                        format="json")
    assert r.status_code == 201 and r.json() == {"username": "charlie", "role": "member"}
    assert Membership.objects.get(team=team, user=charlie).role == Role.MEMBER
    event = AuditEvent.objects.get(action="member.add")
    assert event.actor == alice and event.object_repr == "charlie"


def test_it_lets_an_admin_add_members_but_not_owners(team, alice, charlie, django_user_model):
    dave = django_user_model.objects.create_user("dave", "dave@example.org", "password")
    Membership.objects.create(team=team, user=dave, role=Role.ADMIN)
    r = api(dave).post(f"/api/v1/teams/{team.id}/members/", {"username": "charlie", "role": "owner"},
                       format="json")
    assert r.status_code == 403 and r.json() == {"detail": "Only an owner can make someone an owner."}
    r = api(dave).post(f"/api/v1/teams/{team.id}/members/", {"username": "charlie", "role": "viewer"},
                       format="json")
    assert r.status_code == 201


def test_it_explains_bad_member_requests(team, alice, bob):
    url = f"/api/v1/teams/{team.id}/members/"
    r = api(alice).post(url, {"username": "nobody", "role": "member"}, format="json")
    assert r.status_code == 400 and r.json() == {"detail": "No user with that username or email."}
    r = api(alice).post(url, {"username": "bob", "role": "member"}, format="json")
    assert r.status_code == 400 and r.json() == {"detail": "bob is already a member of this team."}
    r = api(alice).post(url, {"username": "bob", "role": "king"}, format="json")
    assert r.status_code == 400 and r.json()["detail"] == 'role: "king" is not a valid choice.'
    assert Membership.objects.filter(team=team).count() == 2


def test_it_forbids_viewers_and_members_to_add_members(team, bob, charlie, django_user_model):
    url = f"/api/v1/teams/{team.id}/members/"
    r = api(bob).post(url, {"username": "charlie", "role": "viewer"}, format="json")
    assert r.status_code == 403 and r.json() == {"detail": "Only team owners and admins can do this."}
    erin = django_user_model.objects.create_user("erin", "erin@example.org", "password")
    Membership.objects.create(team=team, user=erin, role=Role.MEMBER)
    assert api(erin).post(url, {"username": "charlie", "role": "viewer"}, format="json").status_code == 403
    assert not Membership.objects.filter(user=charlie).exists()


def test_it_hides_other_teams_from_outsiders(team, charlie):
    r = api(charlie).post(f"/api/v1/teams/{team.id}/members/", {"username": "charlie", "role": "owner"},
                          format="json")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert not Membership.objects.filter(user=charlie).exists()


@pytest.mark.parametrize("team_id", ["not-a-uuid", MISSING, "1"])
def test_it_answers_404_for_malformed_or_unknown_team_ids(alice, team_id):
    r = api(alice).post(f"/api/v1/teams/{team_id}/members/", {"username": "bob", "role": "member"},
                        format="json")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
