"""The audit log: membership changes are recorded with who, when and IP;
team owners read their own team's log (nobody else does); staff read all of
it in the admin; nobody can change or delete an entry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from portal.actor import Actor
from portal.models import AuditEvent, AuditLogImmutable, Membership, Role, Team
from portal.services.audit import audit_record
from tests.conftest import login
from tests.ops_support import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def beta(charlie) -> Team:
    team = Team.objects.create(name="Beta")
    Membership.objects.create(team=team, user=charlie, role=Role.OWNER)
    return team


def audit_url(team: Team) -> str:
    return f"/teams/{team.pk}/audit/"


def test_it_records_membership_changes_with_actor_and_ip(team, alice, charlie):
    client = login(alice)
    client.post(f"/teams/{team.id}/members/add/", {"identifier": "charlie", "role": "member"})
    client.post(f"/teams/{team.id}/members/role/", {"username": "charlie", "role": "admin"})
    client.post(f"/teams/{team.id}/members/remove/", {"username": "charlie"})
    events = list(AuditEvent.objects.order_by("created_at", "id")
                  .values_list("action", "actor_name", "team_name", "object_repr", "ip", "detail"))
    assert events == [
        ("member.add", "alice", "Alpha", "charlie", "127.0.0.1", {"role": "member"}),
        ("member.role", "alice", "Alpha", "charlie", "127.0.0.1", {"before": "member", "after": "admin"}),
        ("member.remove", "alice", "Alpha", "charlie", "127.0.0.1", {"role": "admin"}),
    ]

    html = client.get(audit_url(team)).content.decode()
    assert html.count("charlie") >= 3
    for label in ("Added member", "Changed member role", "Removed member"):
        assert f'<td data-label="Action">{label}</td>' in html
    assert "127.0.0.1" in html and "Member → Admin" in html  # details in words (test_audit_readable.py)


def test_it_shows_a_teams_log_only_to_its_owners(team, alice, bob, beta, charlie):
    dave = User.objects.create_user("dave", "dave@example.org", "password")
    erin = User.objects.create_user("erin", "erin@example.org", "password")
    Membership.objects.create(team=team, user=dave, role=Role.ADMIN)
    Membership.objects.create(team=team, user=erin, role=Role.MEMBER)
    assert login(alice).get(audit_url(team)).status_code == 200
    assert login(bob).get(audit_url(team)).status_code == 403  # viewer
    assert login(dave).get(audit_url(team)).status_code == 403  # admin
    assert login(erin).get(audit_url(team)).status_code == 403  # member
    assert login(charlie).get(audit_url(team)).status_code == 404  # outsider
    assert login(alice).get(audit_url(beta)).status_code == 404
    assert login(alice).get("/teams/not-a-uuid/audit/").status_code == 404
    r = Client().get(audit_url(team))
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_it_never_shows_one_teams_entries_to_another(team, alice, beta, charlie):
    audit_record(actor=Actor.of(alice), action="transcript.view", team=team, obj="alpha-secret.wav")
    audit_record(actor=Actor.of(charlie), action="transcript.view", team=beta, obj="beta-secret.wav")
    alpha_page = login(alice).get(audit_url(team)).content.decode()
    beta_page = login(charlie).get(audit_url(beta)).content.decode()
    assert "alpha-secret.wav" in alpha_page and "beta-secret.wav" not in alpha_page
    assert "beta-secret.wav" in beta_page and "alpha-secret.wav" not in beta_page


def test_it_links_the_log_from_the_team_page_for_owners_only(team, alice, bob):
    assert audit_url(team) in login(alice).get(f"/teams/{team.id}/").content.decode()
    assert audit_url(team) not in login(bob).get(f"/teams/{team.id}/").content.decode()


def test_it_filters_by_action_and_pages_through_the_log(team, alice):
    AuditEvent.objects.bulk_create([
        AuditEvent(actor=alice, actor_name="alice", action="transcript.view" if i % 2 else "transcript.export",
                   team=team, team_name="Alpha", object_repr=f"file-{i:03d}.wav")
        for i in range(120)
    ])
    client = login(alice)
    page1 = client.get(audit_url(team), {"action": "transcript.view"}).content.decode()
    assert page1.count("file-") == 50 and "Page 1 of 2" in page1
    assert "action=transcript.view&amp;page=2" in page1
    page2 = client.get(audit_url(team), {"action": "transcript.view", "page": 2}).content.decode()
    assert page2.count("file-") == 10
    assert '<td data-label="Action">Exported transcript</td>' not in page1 + page2
    assert '<td data-label="Action">Viewed transcript</td>' in page1
    everything = client.get(audit_url(team), {"action": "bogus"}).content.decode()
    assert "Page 1 of 3" in everything
    assert client.get(audit_url(team), {"page": "999"}).status_code == 200


def test_it_refuses_to_change_or_delete_an_entry(team, alice):
    event = audit_record(actor=Actor.of(alice), action="member.add", team=team, obj=alice)
    event.object_repr = "someone else"
    with pytest.raises(AuditLogImmutable):
        event.save()
    with pytest.raises(AuditLogImmutable):
        event.delete()
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(actor_name="mallory")
    with pytest.raises(AuditLogImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).object_repr == "alice"


def test_it_keeps_entries_when_the_team_or_user_is_deleted(team, alice, charlie):
    audit_record(actor=Actor.of(alice), action="member.add", team=team, obj=charlie)
    team.delete()
    alice.delete()
    event = AuditEvent.objects.get()
    assert event.team_id is None and event.actor_id is None
    assert (event.team_name, event.actor_name, event.object_repr) == ("Alpha", "alice", "charlie")


def test_it_shows_staff_every_team_in_the_admin_read_only(team, alice, beta, charlie):
    audit_record(actor=Actor.of(alice), action="member.add", team=team, obj=alice)
    audit_record(actor=Actor.of(charlie), action="media.download", team=beta, obj="beta.wav")
    client = login(make_staff())
    html = client.get("/admin/portal/auditevent/").content.decode()
    assert "Alpha" in html and "Beta" in html and "beta.wav" in html

    def listed(query: dict) -> set[str]:
        return {e.team_name for e in client.get("/admin/portal/auditevent/", query).context["cl"].result_list}

    assert listed({"team__id__exact": str(beta.pk)}) == {"Beta"}
    assert listed({"action__exact": "member.add"}) == {"Alpha"}
    event = AuditEvent.objects.get(team=beta)
    assert client.get("/admin/portal/auditevent/add/").status_code == 403
    assert client.post(f"/admin/portal/auditevent/{event.pk}/change/", {"actor_name": "x"}).status_code == 403
    assert client.post(f"/admin/portal/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert 'value="delete_selected"' not in html
    assert AuditEvent.objects.get(pk=event.pk).actor_name == "charlie"


def test_it_keeps_the_log_from_non_staff_in_the_admin(team, alice):
    r = login(alice).get("/admin/portal/auditevent/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")


def test_it_records_creating_and_renaming_teams_and_projects_and_every_setting_changed(alice):
    client = login(alice)
    client.post("/teams/new/", {"name": "Gamma"})
    team = Team.objects.get(name="Gamma")
    client.post(f"/teams/{team.pk}/rename/", {"name": "Gamma Radio"})
    client.post(f"/teams/{team.pk}/projects/new/", {"name": "Talks", "hotwords": "", "speakers": "off", "itn": "auto"})
    project = team.projects.get()
    client.post(f"/projects/{project.pk}/edit/", {"name": "Talk shows", "hotwords": "", "speakers": "off",
                                                  "itn": "on"})
    events = {e.action: e.detail for e in AuditEvent.objects.filter(team=team)}
    assert set(events) >= {"team.create", "team.settings", "project.create", "project.settings"}
    assert events["team.settings"] == {"from": "Gamma", "to": "Gamma Radio"}
    assert events["project.settings"] == {"changed": {"name": {"from": "Talks", "to": "Talk shows"},
                                                      "itn": {"from": "auto", "to": "on"}}}
    page = client.get(f"/teams/{team.pk}/audit/").content.decode()
    assert "name: Talks → Talk shows; numbers as digits: auto → on" in page


def test_it_records_an_upload_with_its_files(project, alice):
    from tests.queue_support import upload
    from tests.transcript_factory import wav_bytes

    login(alice).post(f"/projects/{project.pk}/upload/", {"files": [upload("a.wav", wav_bytes(1.0)),
                                                                    upload("b.wav", wav_bytes(1.0))]},
                      HTTP_ACCEPT="application/json")
    event = AuditEvent.objects.get(action="media.upload")
    assert event.actor == alice and event.detail == {"files": ["a.wav", "b.wav"], "jobs": 2}
