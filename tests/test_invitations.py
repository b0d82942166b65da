"""Inviting people by email: the emailed link lets a new person set a password
and join with the chosen role, and an existing user just join. Links expire,
work once, for their own team only, can be withdrawn, and all of it is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, Invitation, Membership, Role, Team
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _invite(client: Client, team: Team, email: str = "dora@example.org", role: str = Role.MEMBER):
    return client.post(reverse("invitation_create", args=[team.id]), {"email": email, "role": role})


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+/join/\S+/)", message.body).group(1)


def _sent_link(alice: User, team: Team, **kwargs) -> str:
    mail.outbox.clear()
    with_commit = _invite(login(alice), team, **kwargs)
    assert with_commit.status_code == 302
    assert len(mail.outbox) == 1
    return _link(mail.outbox[0])


def test_owner_invites_by_email_and_the_new_person_sets_a_password_and_joins(alice, team):
    response = _invite(login(alice), team, role=Role.ADMIN)
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["dora@example.org"]
    assert "Alpha" in message.subject
    page = login(alice).get(reverse("team", args=[team.id])).content.decode()
    assert "dora@example.org" in page and "Pending invitations" in page

    link = _link(message)
    anonymous = Client()
    form = anonymous.get(link)
    assert form.status_code == 200
    assert "Create account and join" in form.content.decode()
    joined = anonymous.post(link, {"username": "dora", "password1": "a long pass phrase 42",
                                   "password2": "a long pass phrase 42"})
    assert joined.status_code == 302 and joined.url == reverse("team", args=[team.id])
    dora = User.objects.get(username="dora")
    assert dora.email == "dora@example.org" and dora.check_password("a long pass phrase 42")
    assert Membership.objects.get(team=team, user=dora).role == Role.ADMIN
    # Signed in straight away.
    assert anonymous.get(reverse("team", args=[team.id])).status_code == 200


def test_only_a_hash_of_the_token_is_stored(alice, team):
    link = _sent_link(alice, team)
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    assert not AuditEvent.objects.filter(detail__icontains=token).exists()


def test_the_link_works_once(alice, team):
    link = _sent_link(alice, team)
    data = {"username": "dora", "password1": "a long pass phrase 42", "password2": "a long pass phrase 42"}
    assert Client().post(link, data).status_code == 302
    again = Client().post(link, {**data, "username": "dora2"})
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert not User.objects.filter(username="dora2").exists()


def test_an_expired_link_says_so(alice, team, settings):
    link = _sent_link(alice, team)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_expiry_follows_the_setting_with_a_default(alice, team, settings):
    del settings.INVITATION_DAYS
    _sent_link(alice, team)
    invitation = Invitation.objects.get()
    assert (invitation.expires_at - invitation.created_at).days in (6, 7)
    settings.INVITATION_DAYS = 2
    _sent_link(alice, team, email="erin@example.org")
    invitation = Invitation.objects.get(email="erin@example.org")
    assert (invitation.expires_at - invitation.created_at) < timedelta(days=2, minutes=1)


def test_owner_withdraws_an_invitation_and_its_link_stops_working(alice, team):
    link = _sent_link(alice, team)
    invitation = Invitation.objects.get()
    response = login(alice).post(reverse("invitation_revoke", args=[team.id, invitation.id]))
    assert response.status_code == 302
    page = Client().get(link)
    assert page.status_code == 410 and "withdrawn" in page.content.decode()
    assert "dora@example.org" not in login(alice).get(reverse("team", args=[team.id])).content.decode()


def test_inviting_again_replaces_the_first_link(alice, team):
    first = _sent_link(alice, team)
    second = _sent_link(alice, team)
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200


def test_create_accept_and_revoke_are_audited(alice, team):
    link = _sent_link(alice, team)
    Client().post(link, {"username": "dora", "password1": "a long pass phrase 42",
                         "password2": "a long pass phrase 42"})
    other = _sent_link(alice, team, email="erin@example.org")
    assert other
    login(alice).post(reverse("invitation_revoke", args=[team.id, Invitation.objects.get(email="erin@example.org").id]))
    actions = list(AuditEvent.objects.filter(team=team).values_list("action", "actor_name", "object_repr"))
    assert ("invitation.create", "alice", "dora@example.org") in actions
    assert ("invitation.accept", "dora", "dora@example.org") in actions
    assert ("invitation.revoke", "alice", "erin@example.org") in actions


def test_an_existing_user_signs_in_and_just_joins(alice, team, charlie):
    link = _sent_link(alice, team, email="charlie@example.org", role=Role.VIEWER)
    anonymous = Client().get(link)
    assert "Sign in to join" in anonymous.content.decode()
    client = login(charlie)
    assert "Join Alpha" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=charlie).role == Role.VIEWER
    assert User.objects.filter(email="charlie@example.org").count() == 1


def test_signed_in_as_someone_else_is_told_and_not_joined(alice, team, charlie):
    link = _sent_link(alice, team, email="dora@example.org")
    client = login(charlie)
    page = client.get(link).content.decode()
    assert "but you are signed in as charlie" in page and "Sign out and continue" in page
    client.post(link)
    assert not Membership.objects.filter(team=team, user=charlie).exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_invitation_for_one_team_cannot_be_used_for_another(alice, team, charlie):
    link = _sent_link(alice, team)
    other = Team.objects.create(name="Beta")
    response = Client().get(link.replace(str(team.id), str(other.id)))
    assert response.status_code == 404
    assert Client().get(reverse("invitation_accept", args=[team.id, "not-a-token"])).status_code == 404


def test_outsiders_get_404_and_viewers_or_members_403_on_invite(team, bob, charlie):
    assert _invite(login(charlie), team).status_code == 404
    assert _invite(login(bob), team).status_code == 403
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    assert _invite(login(bob), team).status_code == 403
    invitation = Invitation.objects.create(team=team, email="x@example.org", token_hash="0" * 64,
                                           expires_at=timezone.now() + timedelta(days=1))
    assert login(bob).post(reverse("invitation_revoke", args=[team.id, invitation.id])).status_code == 403
    assert login(charlie).post(reverse("invitation_revoke", args=[team.id, invitation.id])).status_code == 404
    assert not mail.outbox


def test_an_admin_cannot_invite_an_owner(alice, team, charlie):
    Membership.objects.create(team=team, user=charlie, role=Role.ADMIN)
    response = _invite(login(charlie), team, role=Role.OWNER)
    assert response.status_code == 400
    assert "Only an owner can make someone an owner." in response.content.decode()
    assert not Invitation.objects.exists()


def test_bad_input_gets_a_clear_message_and_loses_nothing(alice, team, bob):
    response = _invite(login(alice), team, email="bob@example.org")
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    link = _sent_link(alice, team)
    page = Client().post(link, {"username": "alice", "password1": "a long pass phrase 42",
                                "password2": "a long pass phrase 42"})
    assert page.status_code == 400
    body = page.content.decode()
    assert "is taken" in body and 'value="alice"' in body
    short = Client().post(link, {"username": "dora", "password1": "abc", "password2": "abc"})
    assert short.status_code == 400 and "too short" in short.content.decode()
    differ = Client().post(link, {"username": "dora", "password1": "a long pass phrase 42",
                                  "password2": "another long phrase 42"})
    assert differ.status_code == 400 and "differ" in differ.content.decode()
    assert Invitation.objects.get().accepted_at is None
    assert Client().get(link).status_code == 200


def test_adding_an_unknown_email_offers_the_invitation_filled_in(alice, team):
    response = login(alice).post(reverse("member_add", args=[team.id]),
                                 {"identifier": "new.person@example.org", "role": Role.VIEWER})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Invite them by email below" in body
    assert 'value="new.person@example.org"' in body


def test_password_reset_is_linked_from_sign_in_and_sends_a_working_link(alice):
    client = Client()
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()
    response = client.post(reverse("password_reset"), {"email": "alice@example.org"})
    assert response.status_code == 302
    [message] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/\S+/reset/\S+/)", message.body).group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a fresh pass phrase 7",
                                                    "new_password2": "a fresh pass phrase 7"})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a fresh pass phrase 7")
