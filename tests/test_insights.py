"""Insights and questions from a transcript (issue 24), against a scripted OpenAI-compatible server
that writes well-formed answers (random weights never do; the wire itself is tested against a real
server in test_insights_server.py). Requests go through the API or the page, run on the outgoing
queue (tests.queue_support.outgoing_run) and are read back as a person would."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import TestCase

from portal.models import AuditEvent, Membership, Role
from tests.api_support import api
from tests.conftest import login
from tests.queue_support import broker_size, outgoing_purge, outgoing_run, outgoing_size
from tests.transcript_factory import make_transcript
from transcription.llm.tokens import estimate_messages
from transcription.models import Insight, Question

pytest_plugins = ["tests.transcript_factory", "tests.llm_support"]
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_outgoing_queue(db):
    outgoing_purge()


def kind_of(body: dict[str, Any]) -> str:
    return body["response_format"]["json_schema"]["name"]


def numbers_in(body: dict[str, Any]) -> list[int]:
    return [int(n) for n in re.findall(r"^\[(\d+)\]", body["messages"][-1]["content"], re.MULTILINE)]


def committed(call, *args, **kwargs):
    """A request as in production: its tasks are queued once its transaction commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


def ask(client, transcript, kind: str, **extra) -> dict:
    r = committed(client.post, f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": kind, **extra},
                  format="json")
    assert r.status_code == 202, r.content
    return r.json()


def items(client, transcript) -> dict[str, dict]:
    r = client.get(f"/api/v1/transcripts/{transcript.id}/insights/")
    assert r.status_code == 200
    return {item["kind"]: item for item in r.json()["items"]}


def test_it_turns_segment_numbers_into_the_transcripts_times_and_drops_invented_ones(
        transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"chapters": [
        {"title": "Welcome", "segment": 0}, {"title": "Budget", "segment": "[2]"},
        {"title": "Invented", "segment": 57}]})
    client = api(alice)
    queued = ask(client, transcript, "chapters")
    assert queued["status"] == "queued"
    assert broker_size() == 0 and outgoing_size() == 1  # never on the ASR queue
    outgoing_run()
    chapters = items(client, transcript)["chapters"]
    assert chapters["status"] == "succeeded" and chapters["error"] == "", chapters["error"]
    assert chapters["content"] == [
        {"title": "Welcome", "segment": 0, "start": 0.0, "end": 2.5},
        {"title": "Budget", "segment": 2, "start": 2.5, "end": 4.0},
    ]
    assert chapters["references"] == [{"segment": 0, "start": 0.0, "end": 1.2},
                                      {"segment": 2, "start": 2.5, "end": 3.4}]
    assert chapters["removed_references"] == 1 and chapters["parts"] == 1
    prompt = scripted_llm.requests[0]["messages"][-1]["content"]
    assert "[2] 00:00:02 spk0: The budget is 1,000 dollars." in prompt
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "1 reference removed" in page
    assert 'data-seek-time="2.500"' in page and "Budget" in page


def test_it_lists_action_items_with_owner_due_and_where_said(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: "Here you are:\n```json\n" + json.dumps({"items": [
        {"text": "Send the budget", "owner": "Alice", "due": "Friday", "segment": 2},
        {"text": "Book a room", "owner": "", "due": "", "segment": None}]}) + "\n```"
    client = api(alice)
    ask(client, transcript, "action_items")
    outgoing_run()
    item = items(client, transcript)["action_items"]
    assert item["content"] == [
        {"text": "Send the budget", "owner": "Alice", "due": "Friday", "segment": 2, "start": 2.5},
        {"text": "Book a room", "owner": "", "due": "", "segment": None, "start": None}]
    assert item["removed_references"] == 0


def test_an_unreadable_answer_fails_clearly_saves_nothing_and_retry_works(transcript, alice, scripted_llm):
    answers = iter(["I am sorry, I cannot do that.",
                    json.dumps({"text": "They met and agreed on a budget.", "points": ["Budget"], "segments": [1]})])
    scripted_llm.reply = lambda body: next(answers)
    client = api(alice)
    ask(client, transcript, "summary")
    outgoing_run()
    failed = items(client, transcript)["summary"]
    assert failed["status"] == "failed" and failed["content"] is None and failed["references"] == []
    assert "could not be read" in failed["error"]
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "could not be read" in page and 'data-command="retry"' in page
    r = committed(login(alice).post, f"/transcripts/{transcript.id}/insights/insight/{failed['id']}/retry/")
    assert r.status_code == 302
    outgoing_run()
    done = items(client, transcript)["summary"]
    assert done["status"] == "succeeded" and done["id"] == failed["id"]
    assert done["content"] == {"text": "They met and agreed on a budget.", "points": ["Budget"]}
    insight = Insight.objects.get(pk=done["id"])
    assert insight.prompt_tokens == sum(scripted_llm.prompt_tokens(b) for b in scripted_llm.requests)
    assert insight.completion_tokens == 14


def three_hour_segments() -> list[tuple[float, float, str, str]]:
    sentences = ["We need to review the quarterly numbers before the board meeting next week.",
                 "I think the marketing budget is too high compared with last year.",
                 "Let us agree that Bob prepares the slides and Alice checks the figures.",
                 "The customer feedback from the pilot was mostly positive, with a few complaints."]
    return [(i * 5.0, i * 5.0 + 4.5, sentences[i % 4], f"spk{(i // 3) % 3}") for i in range(3 * 3600 // 5)]


def test_a_three_hour_meeting_is_summarised_in_parts_with_no_request_over_the_budget(
        project, alice, scripted_llm, media_root):
    transcript = make_transcript(project, user=alice, segments=three_hour_segments())  # the WAV stays short
    scripted_llm.context = 4096

    def reply(body: dict[str, Any]) -> str:
        numbers = numbers_in(body)
        if numbers:
            return json.dumps({"text": f"Part from {numbers[0]} to {numbers[-1]}.", "points": [f"p{numbers[0]}"],
                               "segments": [numbers[0]]})
        return json.dumps({"text": "The whole meeting.", "points": ["all"], "segments": []})

    scripted_llm.reply = reply
    client = api(alice)
    ask(client, transcript, "summary")
    outgoing_run()
    summary = items(client, transcript)["summary"]
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["content"]["text"] == "The whole meeting."
    parts = summary["parts"]
    map_calls = [b for b in scripted_llm.requests if numbers_in(b)]
    assert parts == len(map_calls) > 10
    for body in scripted_llm.requests:  # the budget: prompt and answer within the context
        assert estimate_messages(body["messages"]) + body["max_tokens"] <= scripted_llm.context
    covered = [n for body in map_calls for n in numbers_in(body)]
    assert covered == list(range(len(three_hour_segments())))  # every line once, in order: nothing cut
    def speaker(body: dict[str, Any], at: int) -> str:
        lines = re.findall(r"^\[\d+\] \S+ (\w+):", body["messages"][-1]["content"], re.MULTILINE)
        return lines[at]

    # Sections are cut where the speaker changes (here every third line), not mid-turn.
    assert all(speaker(a, -1) != speaker(b, 0) for a, b in zip(map_calls, map_calls[1:], strict=False))
    assert len(scripted_llm.requests) > parts  # combined by further calls
    assert f"Made from {parts} parts." in login(alice).get(f"/transcripts/{transcript.id}/insights/").content.decode()
    insight = Insight.objects.get(pk=summary["id"])
    assert insight.prompt_tokens == sum(scripted_llm.prompt_tokens(b) for b in scripted_llm.requests)


def test_a_context_overflow_from_the_server_makes_the_sections_smaller_once(project, alice, scripted_llm, media_root):
    transcript = make_transcript(project, user=alice, segments=three_hour_segments()[:400])
    scripted_llm.context = 8192  # what /v1/models says; the server really takes 3000

    def reply(body: dict[str, Any]) -> Any:
        tokens = scripted_llm.prompt_tokens(body)
        if tokens + body["max_tokens"] > 3000:
            return 400, {"error": {"message": f"This model's maximum context length is 3000 tokens. However, "
                                              f"you requested {tokens + body['max_tokens']} tokens.",
                                   "code": "context_length_exceeded"}}
        return json.dumps({"items": [{"text": "Agreed", "segment": numbers_in(body)[0]}]})

    scripted_llm.reply = reply
    client = api(alice)
    ask(client, transcript, "decisions")
    outgoing_run()
    decisions = items(client, transcript)["decisions"]
    assert decisions["status"] == "succeeded", decisions["error"]
    refused = [b for b in scripted_llm.requests if scripted_llm.prompt_tokens(b) + b["max_tokens"] > 3000]
    assert len(refused) == 1  # one overflow, then every section fits
    assert decisions["parts"] == len(decisions["content"]) > 1


def test_questions_are_answered_with_the_segments_they_cite(transcript, alice, bob, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"answer": "1,000 dollars.", "segments": [2, 3, 99]})
    client = api(alice)
    r = committed(client.post, f"/api/v1/transcripts/{transcript.id}/questions/",
                  {"question": "How big is the budget?"}, format="json")
    assert r.status_code == 202 and r.json()["status"] == "queued"
    outgoing_run()
    answer = api(bob).get(f"/api/v1/questions/{r.json()['id']}/").json()
    assert answer["status"] == "succeeded" and answer["answer"] == "1,000 dollars."
    assert answer["references"] == [{"segment": 2, "start": 2.5, "end": 3.4}, {"segment": 3, "start": 3.4, "end": 4.0}]
    assert answer["removed_references"] == 1
    assert "How big is the budget?" in scripted_llm.requests[0]["messages"][-1]["content"]


def test_the_output_is_in_the_transcripts_language_unless_another_is_picked(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"paragraphs": [{"text": "大家好。", "segment": 0}]})
    client = api(alice)
    ask(client, transcript, "written")
    outgoing_run()
    assert "Write in Chinese" in scripted_llm.requests[-1]["messages"][0]["content"]
    assert items(client, transcript)["written"]["content"]["text"] == "大家好。"
    ask(client, transcript, "written", language="en")
    outgoing_run()
    assert "Write in English" in scripted_llm.requests[-1]["messages"][0]["content"]


def test_project_templates_run_like_the_built_in_kinds(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"text": "Greeting: yes. Budget: 1,000.", "segments": [0]})
    web = login(alice)
    r = web.post(f"/transcripts/{transcript.id}/insight-templates/new/",
                 {"name": "QA checklist", "prompt": "Check: did they greet? Did they state the budget?"})
    assert r.status_code == 302
    template = transcript.job.project.insight_templates.get()
    client = api(alice)
    ask(client, transcript, "template", template=template.pk)
    outgoing_run()
    item = items(client, transcript)["template"]
    assert item["template"] == "QA checklist" and item["content"] == {"text": "Greeting: yes. Budget: 1,000."}
    assert "did they greet?" in scripted_llm.requests[0]["messages"][-1]["content"]
    r = web.post(f"/transcripts/{transcript.id}/insight-templates/{template.pk}/",
                 {"name": "QA checklist", "prompt": "Check: did they say goodbye?"})
    assert r.status_code == 302
    ask(client, transcript, "template", template=template.pk)
    outgoing_run()
    assert "did they say goodbye?" in scripted_llm.requests[-1]["messages"][-1]["content"]
    r = login(transcript.job.project.team.memberships.get(role="viewer").user).post(
        f"/transcripts/{transcript.id}/insight-templates/{template.pk}/delete/")
    assert r.status_code == 403
    assert web.post(f"/transcripts/{transcript.id}/insight-templates/{template.pk}/delete/").status_code == 302
    assert not transcript.job.project.insight_templates.exists()
    assert [e.detail["op"] for e in AuditEvent.objects.filter(action="insight.template").order_by("id")] == [
        "create", "update", "delete"]


def test_an_edit_after_the_insight_marks_it_stale_and_offers_to_regenerate(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"items": []})
    client = api(alice)
    ask(client, transcript, "decisions")
    outgoing_run()
    assert items(client, transcript)["decisions"]["stale"] is False
    r = client.patch(f"/api/v1/transcripts/{transcript.id}/segments/2/", {"text": "The budget is 2,000 dollars."},
                     format="json")
    assert r.status_code == 200
    assert items(client, transcript)["decisions"]["stale"] is True
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Made before the latest edit" in page and "Regenerate" in page


def test_an_approved_transcript_keeps_the_insight_it_was_approved_with(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"text": "Approved summary.", "points": []})
    client = api(alice)
    ask(client, transcript, "summary")
    outgoing_run()
    transcript.review_status, transcript.approved_by = "approved", alice
    from django.utils import timezone
    transcript.approved_at = timezone.now()
    transcript.save()
    r = client.post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert r.status_code == 409 and "approved" in r.json()["detail"]
    assert items(client, transcript)["summary"]["content"]["text"] == "Approved summary."


def test_one_request_at_a_time_per_transcript_and_kind_and_cancel(transcript, alice, scripted_llm):
    client = api(alice)
    first = ask(client, transcript, "summary")
    r = client.post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert r.status_code == 409 and "already" in r.json()["detail"]
    ask(client, transcript, "chapters")  # another kind may run meanwhile
    r = login(alice).post(f"/transcripts/{transcript.id}/insights/insight/{first['id']}/cancel/")
    assert r.status_code == 302
    outgoing_run()
    assert items(client, transcript)["summary"]["status"] == "cancelled"
    assert all(kind_of(b) == "chapters" for b in scripted_llm.requests)  # the cancelled one never ran


def test_bad_input_is_a_clear_400(transcript, alice, scripted_llm):
    client = api(alice)
    for body, words in (({"kind": "poem"}, "Unknown kind"), ({"kind": "template"}, "template"),
                        ({"kind": "summary", "language": "xx"}, "Unknown language")):
        r = client.post(f"/api/v1/transcripts/{transcript.id}/insights/", body, format="json")
        assert r.status_code == 400 and words in r.json()["detail"], r.content
    r = client.post(f"/api/v1/transcripts/{transcript.id}/questions/", {"question": "   "}, format="json")
    assert r.status_code == 400
    assert not Insight.objects.exists() and not Question.objects.exists()


def test_viewers_get_403_and_outsiders_404(transcript, bob, charlie, scripted_llm):
    for user, status in ((bob, 403), (charlie, 404)):
        client = api(user)
        assert client.post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"},
                           format="json").status_code == status
        assert client.post(f"/api/v1/transcripts/{transcript.id}/questions/", {"question": "Why?"},
                           format="json").status_code == status
        web = login(user)
        assert web.post(f"/transcripts/{transcript.id}/insights/new/", {"kind": "summary"}).status_code == status
        assert web.post(f"/transcripts/{transcript.id}/questions/new/", {"question": "Why?"}).status_code == status
    assert api(charlie).get(f"/api/v1/transcripts/{transcript.id}/insights/").status_code == 404
    assert login(charlie).get(f"/transcripts/{transcript.id}/insights/").status_code == 404
    page = login(bob).get(f"/transcripts/{transcript.id}/").content.decode()
    assert 'id="insights"' in page and 'name="question"' not in page
    assert not Insight.objects.exists()


def test_with_llm_settings_unset_the_feature_is_off_and_says_so(transcript, alice, settings):
    settings.LLM_BASE_URL = ""
    client = api(alice)
    listing = client.get(f"/api/v1/transcripts/{transcript.id}/insights/").json()
    assert listing == {"available": False, "reason": "Summaries and questions are off on this server.", "items": []}
    r = client.post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert r.status_code == 409
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "Summaries and questions are off on this server." in page and "LLM_BASE_URL" not in page
    staff = User.objects.create_user("sam", password="x", is_staff=True)
    Membership.objects.create(team=transcript.job.project.team, user=staff, role=Role.MEMBER)
    assert "LLM_BASE_URL" in login(staff).get(f"/transcripts/{transcript.id}/").content.decode()


def test_a_team_owner_can_forbid_sending_its_transcripts(transcript, alice, scripted_llm):
    team = transcript.job.project.team
    r = login(alice).post(f"/teams/{team.pk}/settings/", {"review_second_person": "1"})
    assert r.status_code == 302
    team.refresh_from_db()
    assert team.llm_allowed is False
    r = api(alice).post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert r.status_code == 409 and "does not allow" in r.json()["detail"]
    assert scripted_llm.requests == []


def test_only_owners_decide_whether_transcripts_may_be_sent(transcript, alice, charlie):
    team = transcript.job.project.team
    Membership.objects.create(team=team, user=charlie, role=Role.ADMIN)
    page = login(charlie).get(f"/teams/{team.pk}/").content.decode()
    assert 'type="hidden" name="llm_allowed" value="1"' in page and "the owners decide" in page
    r = login(charlie).post(f"/teams/{team.pk}/settings/", {"review_second_person": "1", "llm_allowed": "1",
                                                           "allow_urgent": "1"})
    assert r.status_code == 302  # an admin changes the other settings
    team.refresh_from_db()
    assert team.allow_urgent is True and team.llm_allowed is True
    r = login(charlie).post(f"/teams/{team.pk}/settings/", {"review_second_person": "1"})
    team.refresh_from_db()
    assert r.status_code == 403 and "Only the team&#x27;s owners" in r.content.decode()
    assert team.llm_allowed is True


def test_usage_is_counted_per_team_and_month_and_the_budget_is_enforced(transcript, alice, scripted_llm, settings):
    scripted_llm.reply = lambda body: json.dumps({"items": []})
    client = api(alice)
    ask(client, transcript, "decisions")
    outgoing_run()
    used = Insight.objects.get().prompt_tokens + 7
    team = transcript.job.project.team
    settings.LLM_TEAM_MONTHLY_TOKENS = int(used / 0.85)
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "of this month's language-model budget" in page
    assert f"{used} tokens" in login(alice).get(f"/teams/{team.pk}/").content.decode()
    settings.LLM_TEAM_MONTHLY_TOKENS = used
    r = client.post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert r.status_code == 409 and "budget" in r.json()["detail"]


def test_the_key_is_sent_to_the_server_only_and_never_shown(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: (401, {"error": {"message": "Invalid key sk-test-secret"}})
    client = api(alice)
    ask(client, transcript, "summary")
    outgoing_run()
    assert scripted_llm.requests[0]["_authorization"] == "Bearer sk-test-secret"
    item = items(client, transcript)["summary"]
    assert item["status"] == "failed" and "LLM_API_KEY" in item["error"]
    assert "sk-test-secret" not in json.dumps(item)
    assert "sk-test-secret" not in login(alice).get(f"/transcripts/{transcript.id}/").content.decode()


def test_a_busy_server_is_retried_with_backoff(transcript, alice, scripted_llm):
    answers = iter([(429, {"error": {"message": "slow down"}}), (503, {"error": {"message": "loading"}}),
                    json.dumps({"items": []})])
    scripted_llm.reply = lambda body: next(answers)
    client = api(alice)
    ask(client, transcript, "decisions")
    outgoing_run()
    assert items(client, transcript)["decisions"]["status"] == "succeeded"
    assert len(scripted_llm.requests) == 3


def test_a_server_that_does_not_answer_in_time_fails_the_request_not_the_queue(transcript, alice, scripted_llm,
                                                                               settings):
    settings.LLM_TIMEOUT_SECONDS = 1
    settings.LLM_MAX_ATTEMPTS = 2
    scripted_llm.stall = True
    client = api(alice)
    ask(client, transcript, "summary")
    outgoing_run()
    item = items(client, transcript)["summary"]
    assert item["status"] == "failed" and "did not answer within 1 second" in item["error"]
    assert len(scripted_llm.requests) == 2  # tried again once


def test_at_most_llm_concurrency_requests_run_at_once(transcript, alice, scripted_llm, settings):
    from django.utils import timezone

    from transcription.actions.insight_runs import llm_requests_dispatch

    settings.LLM_CONCURRENCY = 1
    scripted_llm.reply = lambda body: json.dumps({"items": []})
    client = api(alice)
    busy = Insight.objects.create(transcript=transcript, kind="chapters", status="running",
                                  running_until=timezone.now() + timezone.timedelta(minutes=5))
    ask(client, transcript, "decisions")
    outgoing_run()
    assert items(client, transcript)["decisions"]["status"] == "queued" and scripted_llm.requests == []
    Insight.objects.filter(pk=busy.pk).update(running_until=timezone.now())  # its worker died
    assert committed(llm_requests_dispatch) == 1  # one slot: the older request, taken up again
    outgoing_run()
    assert items(client, transcript)["decisions"]["status"] == "succeeded"
    assert [kind_of(b) for b in scripted_llm.requests] == ["chapters", "decisions"]


def test_exports_carry_the_summary_action_items_and_chapters(transcript, alice, scripted_llm):
    import io

    from docx import Document

    answers = {"summary": {"text": "A short budget meeting.", "points": ["Budget agreed"]},
               "action_items": {"items": [{"text": "Send the budget", "owner": "Alice", "due": "Friday",
                                           "segment": 2}]},
               "chapters": {"chapters": [{"title": "Welcome", "segment": 0}, {"title": "Budget", "segment": 2}]}}
    scripted_llm.reply = lambda body: json.dumps(answers[kind_of(body)])
    client = api(alice)
    for kind in answers:
        ask(client, transcript, kind)
    outgoing_run()
    base = f"/api/v1/transcripts/{transcript.id}/export/?format="
    txt = client.get(base + "txt").content.decode()
    assert txt.index("A short budget meeting.") < txt.index("Send the budget") < txt.index("大家好")
    assert "[00:00:02] Send the budget (Alice, Friday)" in txt
    exported = json.loads(client.get(base + "json").content)
    assert exported["insights"]["chapters"][1] == {"title": "Budget", "segment": 2, "start": 2.5, "end": 4.0}
    doc = Document(io.BytesIO(client.get(base + "docx").content))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs.index("Summary") < paragraphs.index("A short budget meeting.") < paragraphs.index("Transcript")
    track = login(alice).get(f"/transcripts/{transcript.id}/chapters.vtt")
    assert track.status_code == 200
    assert "00:00:02.500 --> 00:00:04.000\nBudget" in track.content.decode()


def test_the_ops_page_shows_each_teams_tokens_this_month(transcript, alice, scripted_llm):
    scripted_llm.reply = lambda body: json.dumps({"items": []})
    ask(api(alice), transcript, "decisions")
    outgoing_run()
    insight = Insight.objects.get()
    staff = User.objects.create_user("sam", password="x", is_staff=True)
    page = login(staff).get("/ops/").content.decode()
    assert "Model scripted-model at" in page and "sk-test-secret" not in page
    assert f"<td>Alpha</td><td>{insight.prompt_tokens}</td><td>7</td>" in page


def test_a_run_taken_over_after_its_worker_died_resumes_after_the_parts_already_answered(scripted_llm):
    from transcription.llm.config import llm_config
    from transcription.llm.prompts import Line
    from transcription.llm.runner import run

    scripted_llm.context = 2048
    scripted_llm.reply = lambda body: json.dumps({"items": [{"text": "Agreed", "segment": numbers_in(body)[0]}]})
    lines = [Line(i, a, b, s, t) for i, (a, b, t, s) in enumerate(three_hour_segments()[:300])]
    saved: list[dict] = []

    class Killed(Exception):
        pass

    def dies_after_two_parts(done: int, parts: int, state: dict | None) -> None:
        saved.append(json.loads(json.dumps(state)))  # as stored in the row's JSON field
        if done == 2:
            raise Killed

    with pytest.raises(Killed):
        run(config=llm_config(), kind="decisions", lines=lines, language="en", progress=dies_after_two_parts)
    first_run = len(scripted_llm.requests)
    outcome = run(config=llm_config(), kind="decisions", lines=lines, language="en", resume=saved[-1])
    assert first_run == 2 and outcome.parts > 3
    assert len(scripted_llm.requests) == outcome.parts  # every part asked once, over the two runs
    assert [item["segment"] for item in outcome.content] == [numbers_in(b)[0] for b in scripted_llm.requests]


def test_a_server_that_trickles_its_answer_is_cut_at_the_deadline(settings):
    """One deadline for the whole call, as for webhooks: a byte every 0.25 s would take ~17 s."""
    from tests.webhook_support import Trickler
    from transcription.llm.client import LlmError, chat
    from transcription.llm.config import llm_config

    trickler = Trickler(interval=0.25)
    try:
        settings.LLM_BASE_URL, settings.LLM_MODEL = f"http://127.0.0.1:{trickler.port}/v1", "tiny"
        settings.LLM_TIMEOUT_SECONDS, settings.LLM_MAX_ATTEMPTS = 2, 1
        with pytest.raises(LlmError) as raised:
            chat(llm_config(), [{"role": "user", "content": "hello"}], max_tokens=16)
    finally:
        trickler.close()
    assert raised.value.message == "The language-model server did not answer within 2 seconds."
    assert 0 < trickler.sent < len(Trickler.ANSWER)
