from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from portal.models import AuditEvent, Membership, Role, Team
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_creates_a_team_with_me_as_owner(alice):
    r = login(alice).post("/teams/new/", {"name": "Research"})
    team = Team.objects.get(name="Research")
    assert r.status_code == 302 and r["Location"] == f"/teams/{team.id}/"
    assert Membership.objects.get(team=team, user=alice).role == Role.OWNER


def test_it_rejects_a_blank_team_name(alice):
    r = login(alice).post("/teams/new/", {"name": "  "})
    assert r.status_code == 200
    assert b"This field is required" in r.content
    assert not Team.objects.exists()


def test_it_shows_members_to_a_viewer_without_controls(team, bob):
    r = login(bob).get(f"/teams/{team.id}/")
    assert r.status_code == 200
    assert b"alice" in r.content and b"Add member" not in r.content


def test_it_returns_404_to_an_outsider(team, charlie):
    assert login(charlie).get(f"/teams/{team.id}/").status_code == 404


def test_it_returns_404_for_a_malformed_id(alice):
    assert login(alice).get("/teams/not-a-uuid/").status_code == 404


def test_it_redirects_anonymous_to_login(team):
    from django.test import Client

    r = Client().get(f"/teams/{team.id}/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_it_adds_a_member_by_email(team, alice, charlie):
    r = login(alice).post(f"/teams/{team.id}/members/add/",
                          {"identifier": "CHARLIE@example.org", "role": "member"})
    assert r.status_code == 302
    assert Membership.objects.get(team=team, user=charlie).role == Role.MEMBER
    event = AuditEvent.objects.get(action="member.add")
    assert event.actor == alice and event.team == team and event.object_repr == "charlie"


def test_it_explains_an_unknown_user(team, alice):
    r = login(alice).post(f"/teams/{team.id}/members/add/", {"identifier": "nobody", "role": "member"})
    assert r.status_code == 400
    assert b"No user with that username or email" in r.content


def test_it_refuses_a_duplicate_member(team, alice):
    r = login(alice).post(f"/teams/{team.id}/members/add/", {"identifier": "bob", "role": "member"})
    assert r.status_code == 400
    assert b"already a member" in r.content
    assert Membership.objects.filter(team=team).count() == 2


def test_viewer_cannot_add_members(team, bob, charlie):
    r = login(bob).post(f"/teams/{team.id}/members/add/", {"identifier": "charlie", "role": "owner"})
    assert r.status_code == 403
    assert not Membership.objects.filter(user=charlie).exists()


def test_outsider_cannot_add_members(team, charlie):
    r = login(charlie).post(f"/teams/{team.id}/members/add/", {"identifier": "charlie", "role": "owner"})
    assert r.status_code == 404
    assert not Membership.objects.filter(user=charlie).exists()


def test_it_changes_a_role(team, alice, bob):
    login(alice).post(f"/teams/{team.id}/members/role/", {"username": "bob", "role": "admin"})
    assert Membership.objects.get(team=team, user=bob).role == Role.ADMIN


def test_admin_cannot_make_an_owner(team, alice, bob, charlie):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    Membership.objects.create(team=team, user=charlie, role=Role.MEMBER)
    r = login(bob).post(f"/teams/{team.id}/members/role/", {"username": "charlie", "role": "owner"})
    assert r.status_code == 403
    assert Membership.objects.get(user=charlie).role == Role.MEMBER


def test_the_last_owner_cannot_step_down(team, alice):
    r = login(alice).post(f"/teams/{team.id}/members/role/", {"username": "alice", "role": "member"}, follow=True)
    assert b"at least one owner" in r.content
    assert Membership.objects.get(user=alice).role == Role.OWNER


def test_the_last_owner_cannot_be_removed(team, alice):
    r = login(alice).post(f"/teams/{team.id}/members/remove/", {"username": "alice"}, follow=True)
    assert b"at least one owner" in r.content
    assert Membership.objects.filter(user=alice, team=team).exists()


def test_an_owner_can_leave_when_another_owner_exists(team, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    r = login(alice).post(f"/teams/{team.id}/members/remove/", {"username": "alice"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert not Membership.objects.filter(user=alice, team=team).exists()


def test_it_removes_a_member(team, alice, bob):
    login(alice).post(f"/teams/{team.id}/members/remove/", {"username": "bob"})
    assert not Membership.objects.filter(user=bob, team=team).exists()
    assert AuditEvent.objects.filter(action="member.remove", team=team).count() == 1


def test_a_viewer_can_leave_but_not_remove_others(team, alice, bob):
    r = login(bob).post(f"/teams/{team.id}/members/remove/", {"username": "alice"})
    assert r.status_code == 403
    login(bob).post(f"/teams/{team.id}/members/remove/", {"username": "bob"})
    assert not Membership.objects.filter(user=bob).exists()


def test_it_renames_a_team(team, alice, bob):
    assert login(bob).post(f"/teams/{team.id}/rename/", {"name": "X"}).status_code == 403
    login(alice).post(f"/teams/{team.id}/rename/", {"name": "Beta"})
    team.refresh_from_db()
    assert team.name == "Beta"


def test_dashboard_lists_only_my_teams(team, charlie):
    Team.objects.create(name="Secret")
    r = login(charlie).get("/")
    assert b"Alpha" not in r.content and b"Secret" not in r.content
    User.objects.get(username="charlie")
