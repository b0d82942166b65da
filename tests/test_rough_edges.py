"""Rough edges a new user saw in the first hour: one date format everywhere
(in their time zone, no "a.m.."), a member-add error that kept the form's
shape, a delete page whose buttons line up, and the audit log's details."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit_display import audit_detail_lines
from portal.models import AuditEvent, Profile, Role
from tests.conftest import login
from transcription.models import ReviewStatus

pytest_plugins = ["tests.transcript_factory"]
pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


def _shanghai(user) -> None:
    Profile.objects.update_or_create(user=user, defaults={"timezone": "Asia/Shanghai"})


def test_tables_and_detail_pages_write_a_moment_the_same_way_in_the_users_time_zone(transcript, alice):
    _shanghai(alice)
    job = transcript.job
    type(job).objects.filter(pk=job.pk).update(created_at=MORNING, started_at=MORNING, finished_at=MORNING)
    client = login(alice)
    table = client.get(reverse("project", args=[job.project_id])).content.decode()
    detail = client.get(reverse("job", args=[job.pk])).content.decode()
    assert "5 Mar 2026, 09:30" in table
    assert detail.count("5 Mar 2026, 09:30") >= 2  # uploaded, started, finished


def test_the_approved_notice_has_one_full_stop(transcript, alice):
    type(transcript).objects.filter(pk=transcript.pk).update(
        review_status=ReviewStatus.APPROVED, approved_by=alice, approved_at=MORNING)
    page = login(alice).get(reverse("transcript", args=[transcript.pk])).content.decode()
    assert "Approved by alice on 5 Mar 2026, 01:30." in page
    assert ".." not in re.sub(r"<[^>]+>", "", page).replace("…", "")


def test_chinese_pages_use_the_same_single_format(transcript, alice):
    Profile.objects.update_or_create(user=alice, defaults={"language": "zh-hans", "timezone": "Asia/Shanghai"})
    type(transcript.job).objects.filter(pk=transcript.job.pk).update(created_at=MORNING)
    page = login(alice).get(reverse("project", args=[transcript.job.project_id])).content.decode()
    assert "2026年3月5日 09:30" in page


def test_an_unknown_email_keeps_the_add_form_in_one_piece(alice, team):
    response = login(alice).post(reverse("member_add", args=[team.id]),
                                 {"identifier": "nobody@example.org", "role": Role.MEMBER})
    html = response.content.decode()
    add_form = html[html.index(reverse("member_add", args=[team.id])):]
    add_form = add_form[:add_form.index("</form>")]
    # Each field (label, input, its error) is one grid cell: the error no longer takes a column of its own.
    cells = re.findall(r'<div class="field">(.*?)</div>', add_form, re.S)
    assert len(cells) == 2 and "field-error" in cells[0]


def test_the_delete_page_puts_cancel_and_delete_side_by_side(project, alice):
    html = login(alice).get(reverse("project_delete", args=[project.pk])).content.decode()
    actions = re.search(r'<div class="form-actions">(.*?)</div>', html, re.S).group(1)
    assert "Cancel" in actions and "Delete project" in actions
    assert '<div class="grid">' not in html.split("<article", 1)[1]


def test_audit_details_read_as_words():
    assert audit_detail_lines({"export": "3f1c", "format": "docx", "transcripts": 3, "timestamps": False,
                               "speakers": True, "chinese": "", "punctuation": "", "itn": None,
                               "max_chars": 0}) == ["DOCX", "3 transcripts", "without timestamps", "with speakers"]
    assert audit_detail_lines({"before": "viewer", "after": "admin"}) == ["Viewer → Admin"]
    assert audit_detail_lines({"from": "draft", "to": "approved"}) == ["Draft → Approved"]
    assert audit_detail_lines({"download": False, "via": "api"}) == ["played in the page", "through the API"]
    assert audit_detail_lines({"added": ["预算"], "removed": []}) == ["added: 预算"]
    assert audit_detail_lines({"something_new": True}) == ["something new: yes"]
    assert audit_detail_lines({}) == []


def test_the_audit_page_shows_no_raw_details(transcript, alice):
    client = login(alice)
    client.get(reverse("transcript_export", args=[transcript.pk]), {"format": "txt"})
    html = client.get(reverse("team_audit", args=[transcript.job.project.team_id])).content.decode()
    assert "timestamps: False" not in html and "without timestamps" in html


def test_viewing_a_transcript_again_within_30_minutes_is_one_entry(transcript, alice, bob):
    url = reverse("transcript", args=[transcript.pk])
    for _ in range(3):
        assert login(alice).get(url).status_code == 200
    login(bob).get(url)
    views = AuditEvent.objects.filter(action="transcript.view")
    assert sorted(views.values_list("actor_name", flat=True)) == ["alice", "bob"]
    # Later than the window it is a new visit (rows are immutable, so the clock moves instead).
    later = timezone.now() + timedelta(minutes=31)
    with mock.patch("portal.services.audit.timezone.now", return_value=later):
        login(alice).get(url)
    assert AuditEvent.objects.filter(action="transcript.view", actor_name="alice").count() == 2
