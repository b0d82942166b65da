"""Shared fixtures: the named users (alice owns a team, bob is a viewer in
it, charlie is an outsider), and the environment for worker subprocesses."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from portal.models import Membership, Project, Role, Team
from transcription.services.queue import queue_snapshot_forget

pytest_plugins: list[str] = ["tests.asr_fixtures", "tests.cluster_support", "tests.browser_support"]


# Tests that start a browser, a live server or worker processes: what `make test-quick` leaves out.
SLOW_FIXTURES = {"browser", "mic_browser", "live_server", "clusters", "nodes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("multinode"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fresh_queue_snapshot() -> None:
    """Each test's database starts without the shared queue schedule; so does this process's copy."""
    queue_snapshot_forget()


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", "alice@example.org", "password")


@pytest.fixture
def bob(db) -> User:
    return User.objects.create_user("bob", "bob@example.org", "password")


@pytest.fixture
def charlie(db) -> User:
    return User.objects.create_user("charlie", "charlie@example.org", "password")


@pytest.fixture
def team(alice, bob) -> Team:
    """Alice's team; Bob is a viewer in it."""
    team = Team.objects.create(name="Alpha")
    Membership.objects.create(team=team, user=alice, role=Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
    return team


@pytest.fixture
def project(team, alice) -> Project:
    return Project.objects.create(team=team, name="Interviews", created_by=alice)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Environment for a subprocess (qcluster, manage.py) that must use the
    test database this test is running against."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(name)
    else:
        parts = urlsplit(env["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    return env
