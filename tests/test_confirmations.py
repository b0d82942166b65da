"""Confirmations where a mis-click hurts (a role change in the members table,
cancelling a running job), asked by static/js/app.js from data-confirm (no
inline script under the CSP), and a stopping job reads "Stopping…" until the
worker confirms. The browser side is in test_people_browser.py."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import login
from tests.queue_support import make_job
from transcription import job_states
from transcription.job_states import JobStatus
from transcription.models import Job

pytestmark = pytest.mark.django_db


def test_the_members_table_asks_before_a_role_change(alice, team):
    html = login(alice).get(reverse("team", args=[team.id])).content.decode()
    assert 'data-confirm="Change the role of bob to {role}?"' in html
    assert "onclick" not in html and "onchange" not in html


def test_cancelling_a_running_job_asks_first_and_a_queued_one_does_not(project, alice):
    running = make_job(project, alice, status=JobStatus.RUNNING, name="long interview.wav")
    make_job(project, alice, status=JobStatus.QUEUED, name="waiting.wav")
    client = login(alice)
    table = client.get(reverse("project", args=[project.pk])).content.decode()
    question = "Stop transcribing long interview.wav? The work done on it so far is lost."
    assert table.count(f'data-confirm="{question}"') == 1
    assert table.count(reverse("job_cancel", args=[running.pk])) == 1
    detail = client.get(reverse("job", args=[running.pk])).content.decode()
    assert f'data-confirm="{question}"' in detail


def test_a_stopping_job_reads_stopping_until_the_worker_confirms(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING, name="long interview.wav")
    client = login(alice)
    response = client.post(reverse("job_cancel", args=[job.pk]), {"next": reverse("project", args=[project.pk])},
                           follow=True)
    html = response.content.decode()
    assert "long interview.wav will stop at the next segment." in html
    assert "Stopping…" in html
    assert reverse("job_cancel", args=[job.pk]) not in html  # nothing more to press
    assert "Stopping…" in client.get(reverse("job", args=[job.pk])).content.decode()
    # The worker honours it at the next segment boundary: then it reads Cancelled.
    assert job_states.stop(Job.objects.filter(pk=job.pk), now=timezone.now()) == 1
    html = client.get(reverse("project", args=[project.pk])).content.decode()
    assert "Stopping…" not in html and "Cancelled" in html
