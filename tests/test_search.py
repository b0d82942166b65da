from __future__ import annotations

import pytest
from django.test import Client

from portal.models import Membership, Project, Role, Team
from tests.conftest import login
from transcription.services.search import highlight, query_terms, transcripts_search

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]


@pytest.fixture
def other_team_transcript(charlie, new_transcript):
    team = Team.objects.create(name="Beta")
    Membership.objects.create(team=team, user=charlie, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Secret", created_by=charlie)
    return new_transcript(project, user=charlie, name="secret.wav")


def test_it_finds_chinese_text_and_links_to_the_segment(transcript, alice):
    r = login(alice).get("/search/", {"q": "预算"})
    html = r.content.decode()
    assert r.status_code == 200
    assert f'href="/transcripts/{transcript.id}/?q=%E9%A2%84%E7%AE%97#seg-1"' in html
    assert "我们先讨论<mark>预算</mark>问题。" in html
    assert ">0:01<" in html  # the segment's start time
    assert "1 matching segment" in html


def test_simplified_query_finds_traditional_text(transcript, alice):
    results = transcripts_search(user=alice, query="会议结束")
    hits = [hit.segment.text for group in results.groups for hit in group.hits]
    assert hits == ["會議結束，謝謝大家。"]
    assert "<mark>會議結束</mark>" in str(results.groups[0].hits[0].snippet)


def test_english_search_ignores_case_and_needs_every_word(transcript, alice):
    assert transcripts_search(user=alice, query="BUDGET dollars").total == 1
    assert transcripts_search(user=alice, query="budget euros").total == 0


def test_search_never_returns_another_teams_transcript(transcript, other_team_transcript, alice, bob, charlie):
    for user in (alice, bob):
        results = transcripts_search(user=user, query="预算")
        assert [g.transcript for g in results.groups] == [transcript]
    results = transcripts_search(user=charlie, query="预算")
    assert [g.transcript for g in results.groups] == [other_team_transcript]
    html = login(alice).get("/search/", {"q": "secret"}).content.decode()
    assert "secret.wav" not in html and "Nothing found" in html


def test_results_show_speaker_display_names(transcript, alice):
    transcript.speaker_names = {"spk1": "李经理"}
    transcript.save()
    html = login(alice).get("/search/", {"q": "预算"}).content.decode()
    assert '<span class="small muted">李经理</span>' in html


def test_file_names_match_too(transcript, alice):
    results = transcripts_search(user=alice, query="2024-05")
    assert results.groups[0].transcript == transcript and results.groups[0].name_matches


def test_search_output_is_escaped(project, alice, new_transcript):
    new_transcript(project, user=alice, segments=[(0, 1, "<script>alert(1)</script> 预算", "")])
    html = login(alice).get("/search/", {"q": "预算"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; <mark>预算</mark>" in html


def test_long_segments_are_cut_around_the_match():
    text = "甲" * 300 + "关键词" + "乙" * 300
    snippet = str(highlight(text, query_terms("关键词")))
    assert snippet.startswith("…") and snippet.endswith("…") and "<mark>关键词</mark>" in snippet
    assert len(snippet) < 200


def test_empty_search_shows_the_form(alice):
    r = login(alice).get("/search/")
    assert r.status_code == 200 and b'name="q"' in r.content and b"matching" not in r.content


def test_anonymous_search_redirects_to_login():
    r = Client().get("/search/?q=x")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
