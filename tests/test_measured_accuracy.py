"""Measured accuracy from corrections: once a transcript is approved, the machine's first text is
scored against the approved text (characters for Chinese, words for English, after one
normalisation); the transcript JSON gains `machine_error_rate`, the project has
`GET /api/v1/projects/{id}/accuracy/` and an accuracy card on its page."""

from __future__ import annotations

import pytest

from portal.actor import Actor
from tests.api_support import api
from tests.conftest import login
from transcription.models import Transcript
from transcription.services import review

pytest_plugins = ["tests.transcript_factory"]
pytestmark = pytest.mark.django_db


def _correct_and_approve(transcript, user, edits: dict[int, str]) -> None:
    client = api(user)
    for index, text in edits.items():
        r = client.patch(f"/api/v1/transcripts/{transcript.id}/segments/{index}/", {"text": text}, format="json")
        assert r.status_code == 200, r.content
    team = transcript.job.project.team
    team.review_second_person = False  # the team of one approves its own corrections
    team.save(update_fields=["review_second_person"])
    for status in ("in_review", "approved"):
        review.review_status_set(actor=Actor.of(user), transcript=transcript, status=status)


def test_it_measures_the_machine_against_the_approved_text(project, alice, bob, transcript):
    r = api(bob).get(f"/api/v1/transcripts/{transcript.id}/")
    assert "machine_error_rate" not in r.json()  # not approved yet
    # 36 units approved: 12 + 10 Chinese characters, 6 English words ("1,000" is two), 8 characters
    # of the Traditional segment in Simplified form. Two edits: one character added, one word changed
    # (a punctuation-only change counts nothing).
    _correct_and_approve(transcript, alice, {1: "我们先讨论预算的问题。", 2: "The budget is 1,000 euros.",
                                             0: "大家好，欢迎参加今天的会议！"})
    r = api(bob).get(f"/api/v1/transcripts/{transcript.id}/")
    assert r.json()["review_status"] == "approved"
    assert r.json()["machine_error_rate"] == round(2 / 36, 4)

    transcript.refresh_from_db()
    approved_month = transcript.approved_at.strftime("%Y-%m")
    accuracy = api(bob).get(f"/api/v1/projects/{project.id}/accuracy/").json()
    assert accuracy == {
        "transcripts": 1, "rewritten": 0, "units": 36, "error_rate": round(2 / 36, 4),
        "by_preset": [{"preset": "", "transcripts": 1, "rewritten": 0, "units": 36, "error_rate": round(2 / 36, 4)}],
        "by_month": [{"month": approved_month, "transcripts": 1, "rewritten": 0,
                      "units": 36, "error_rate": round(2 / 36, 4)}],
        "worst": [{"transcript": str(transcript.id), "file": "会议录音 2024-05.wav", "error_rate": round(2 / 36, 4),
                   "rewritten": False}],
    }


def test_it_counts_a_rewritten_transcript_apart(project, alice, bob, new_transcript):
    light = new_transcript(project, name="light.wav")
    _correct_and_approve(light, alice, {1: "我们先讨论预算的问题。"})
    heavy = new_transcript(project, name="heavy.wav",
                            segments=[(0.0, 2.0, "完全听不清楚的录音内容", "spk0")])
    _correct_and_approve(heavy, alice, {0: "Something else was said here entirely"})
    new_transcript(project, name="draft.wav")  # not approved: not counted
    accuracy = api(bob).get(f"/api/v1/projects/{project.id}/accuracy/").json()
    assert (accuracy["transcripts"], accuracy["rewritten"], accuracy["units"]) == (2, 1, 36)
    assert accuracy["error_rate"] == round(1 / 36, 4)
    assert [w["file"] for w in accuracy["worst"]] == ["heavy.wav", "light.wav"]
    assert accuracy["worst"][0]["rewritten"] is True


def test_it_shows_the_accuracy_card_on_the_project_page(project, alice, bob, charlie, new_transcript):
    page = login(bob).get(f"/projects/{project.id}/").content.decode()
    assert f'hx-get="/projects/{project.id}/accuracy/"' in page
    card = login(bob).get(f"/projects/{project.id}/accuracy/").content.decode()
    assert "No approved transcripts yet" in card
    transcript = new_transcript(project)
    _correct_and_approve(transcript, alice, {1: "我们先讨论预算的问题。"})
    card = login(bob).get(f"/projects/{project.id}/accuracy/").content.decode()
    assert '<strong id="accuracy-rate">Machine error rate: 2.8 %</strong>' in card
    assert f'href="/transcripts/{transcript.id}/"' in card and f"/projects/{project.id}/glossary/" in card
    # a second preset: the card splits the rate by preset (a table that becomes cards on a phone)
    other = new_transcript(project, name="other.wav")
    Transcript.objects.filter(pk=other.pk).update(preset="multi")
    _correct_and_approve(other, alice, {})
    card = login(bob).get(f"/projects/{project.id}/accuracy/").content.decode()
    assert '<table class="striped cards" id="accuracy-table">' in card
    assert '<td data-label="Preset">multi</td>' in card and '<td data-label="Error rate">0.0 %</td>' in card
    assert login(charlie).get(f"/projects/{project.id}/accuracy/").status_code == 404
    assert api(charlie).get(f"/api/v1/projects/{project.id}/accuracy/").status_code == 404


def test_the_team_page_shows_the_teams_accuracy_by_project(project, team, alice, bob, charlie, new_transcript):
    from portal.models import Project

    other_project = Project.objects.create(team=team, name="Calls", created_by=alice)
    _correct_and_approve(new_transcript(project), alice, {1: "我们先讨论预算的问题。"})  # 1 error in 36
    _correct_and_approve(new_transcript(other_project, name="call.wav"), alice, {})  # none in 36
    page = login(bob).get(f"/teams/{team.id}/").content.decode()
    assert f'hx-get="/teams/{team.id}/accuracy/"' in page
    card = login(bob).get(f"/teams/{team.id}/accuracy/").content.decode()
    assert '<strong id="team-accuracy-rate">Machine error rate: 1.4 %</strong>' in card  # 1 in 72
    assert '<td data-label="Error rate">2.8 %</td>' in card and '<td data-label="Error rate">0.0 %</td>' in card
    assert f'href="/projects/{other_project.id}/#accuracy"' in card
    assert login(charlie).get(f"/teams/{team.id}/accuracy/").status_code == 404
