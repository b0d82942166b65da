"""One rule for joining CJK and Latin text, one clock, one Chinese script
converter: a transcript reads the same on its page, in every export and
after an edit."""

from __future__ import annotations

import pytest

from portal.actor import Actor
from tests.queue_support import make_job
from transcription.asr.engine import SegmentResult, TranscriptionResult
from transcription.job_states import JobStatus
from transcription.models import Transcript
from transcription.services import review
from transcription.services.job_lifecycle import job_finish
from transcription.text import clock, is_cjk, join_texts, needs_space, to_simplified, to_traditional


@pytest.mark.parametrize(("parts", "joined"), [
    (["你好", "世界"], "你好世界"),
    (["你好", "world"], "你好 world"),
    (["hello", "world"], "hello world"),
    (["我们开会。", "The budget is 1,000 dollars."], "我们开会。The budget is 1,000 dollars."),
    (["The budget is 1,000 dollars.", "會議結束。"], "The budget is 1,000 dollars. 會議結束。"),
    (["  你好 ", "", "  "], "你好"),
    (["第一", "，第二"], "第一，第二"),
    (["こんにちは", "世界"], "こんにちは世界"),
])
def test_it_joins_text_by_one_rule(parts, joined):
    assert join_texts(parts) == joined


def test_it_knows_cjk_characters_and_full_width_punctuation():
    assert all(is_cjk(c) for c in "中文漢字かなカナ한글，。")
    assert not any(is_cjk(c) for c in "aZ1,. ")
    assert not needs_space("。", "A") and not needs_space("A", "，") and needs_space("a", "b")


@pytest.mark.parametrize(("seconds", "short", "long"), [
    (0, "0:00", "00:00:00"),
    (1.99, "0:01", "00:00:01"),
    (62, "1:02", "00:01:02"),
    (3723.9, "1:02:03", "01:02:03"),
    (-4, "0:00", "00:00:00"),
    (None, "—", "—"),
])
def test_it_reads_times_one_way(seconds, short, long):
    assert clock(seconds) == short
    assert clock(seconds, hours=True) == long


def test_it_converts_between_chinese_scripts():
    assert to_traditional("会议结束") == "會議結束"
    assert to_simplified("會議結束") == "会议结束"


@pytest.mark.django_db
def test_a_transcripts_text_keeps_its_spacing_through_an_edit(project, alice):
    job = make_job(project, alice, status=JobStatus.RUNNING)
    texts = ["大家好。", "Welcome to the meeting.", "谢谢。"]
    result = TranscriptionResult(  # the engine's own text spaces the languages its own way
        text="大家好。 Welcome to the meeting. 谢谢。", audio_seconds=3.0, processing_seconds=0.1,
        segments=[SegmentResult(index=i, start=i, end=i + 1, text=t, speaker="") for i, t in enumerate(texts)])
    job_finish(job_id=job.pk, worker=job.worker, attempt=job.attempts, result=result)
    transcript = Transcript.objects.get(job=job)
    assert transcript.text == "大家好。Welcome to the meeting. 谢谢。"
    review.segment_edit(actor=Actor.of(alice), transcript=transcript, index=2, text="谢谢大家。")
    transcript.refresh_from_db()
    assert transcript.text == "大家好。Welcome to the meeting. 谢谢大家。"
