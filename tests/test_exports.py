from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import unquote

import docx
import pytest

from portal.models import AuditEvent
from tests.conftest import login
from tests.queue_support import broker_purge, broker_take_one
from transcription import tasks
from transcription.models import ExportStatus, JobStatus, ProjectExport
from transcription.services.exports import ExportError, ExportOptions, to_full_width, to_half_width, transcript_render
from transcription.services.filenames import content_disposition, safe_filename

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.transcript_factory"]

CUE = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_cues(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of every cue in an SRT or WebVTT file."""
    cues = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        for n, line in enumerate(lines):
            match = CUE.fullmatch(line.strip())
            if match:
                g = match.groups()
                cues.append((seconds(*g[:4]), seconds(*g[4:]), "\n".join(lines[n + 1:])))
                break
    return cues


def segments_of(transcript) -> list:
    return list(transcript.segments.order_by("index"))


def test_srt_has_every_segment_with_its_timing(transcript):
    exported = transcript_render(transcript=transcript, format="srt")
    assert exported.filename == "会议录音 2024-05.srt"
    assert exported.content_type.startswith("application/x-subrip")
    text = exported.content.decode("utf-8")
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,200\n")
    cues = parse_cues(text)
    segs = segments_of(transcript)
    assert len(cues) == len(segs)
    for (start, end, cue_text), seg in zip(cues, segs, strict=True):
        assert start == pytest.approx(seg.start, abs=0.001) and end == pytest.approx(seg.end, abs=0.001)
        assert cue_text == seg.text


def test_srt_times_beyond_an_hour_and_with_speakers(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, segments=[(3723.456, 3725.9999, "一小时以后", "spk0")],
                                speaker_names={"spk0": "主持人"})
    text = transcript_render(transcript=transcript, format="srt",
                             options=ExportOptions(speakers=True)).content.decode()
    assert "01:02:03,456 --> 01:02:06,000\n主持人: 一小时以后" in text


def test_vtt_parses_back_with_timings_and_voices(transcript):
    transcript.speaker_names = {"spk0": "Ann <host>"}
    transcript.save()
    text = transcript_render(transcript=transcript, format="vtt",
                             options=ExportOptions(speakers=True)).content.decode("utf-8")
    assert text.startswith("WEBVTT\n\n")
    cues = parse_cues(text)
    segs = segments_of(transcript)
    assert [(c[0], c[1]) for c in cues] == [(pytest.approx(s.start), pytest.approx(s.end)) for s in segs]
    assert cues[0][2] == "<v Ann &lt;host&gt;>大家好，欢迎参加今天的会议。"
    assert cues[1][2] == "<v spk1>我们先讨论预算问题。"


def test_docx_opens_and_holds_every_segment(transcript):
    exported = transcript_render(transcript=transcript, format="docx",
                                 options=ExportOptions(speakers=True, timestamps=True))
    assert exported.filename == "会议录音 2024-05.docx"
    document = docx.Document(io.BytesIO(exported.content))
    paragraphs = [p.text for p in document.paragraphs]
    body = "\n".join(paragraphs)
    assert paragraphs[0] == "会议录音 2024-05"
    assert document.paragraphs[0].style.name.startswith("Heading")
    assert "Project: Interviews" in body and "Duration: 00:00:04" in body and "Date: " in body
    for seg in segments_of(transcript):
        assert seg.text in body
    assert "[00:00:01] spk1: 我们先讨论预算问题。" in paragraphs
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold]
    assert "spk0: " in bold


def test_docx_without_timestamps_groups_speaker_turns(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, segments=[
        (0, 1, "第一句。", "spk0"), (1, 2, "第二句。", "spk0"), (2, 3, "Hello there.", "spk1"),
        (3, 4, "General Kenobi.", "spk1")], speaker_names={"spk0": "甲"})
    document = docx.Document(io.BytesIO(transcript_render(
        transcript=transcript, format="docx", options=ExportOptions(speakers=True)).content))
    paragraphs = [p.text for p in document.paragraphs]
    assert "甲: 第一句。第二句。" in paragraphs
    assert "spk1: Hello there. General Kenobi." in paragraphs


def test_json_round_trips_segments_and_metadata(transcript):
    transcript.speaker_names = {"spk1": "李经理"}
    transcript.save()
    data = json.loads(transcript_render(transcript=transcript, format="json").content)
    assert data["id"] == str(transcript.id) and data["file"] == "会议录音 2024-05.wav"
    assert data["project"] == "Interviews" and data["duration"] == 4.0 and data["review_status"] == "draft"
    assert data["speakers"] == {"spk0": "spk0", "spk1": "李经理"}
    assert data["segments"] == [
        {"index": s.index, "start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker,
         "speaker_name": transcript.speaker_label(s.speaker), "words": []}  # this fixture has no word times
        for s in segments_of(transcript)
    ]


def test_txt_plain_has_one_line_per_segment(transcript):
    text = transcript_render(transcript=transcript, format="txt").content.decode("utf-8")
    assert text.splitlines() == [s.text for s in segments_of(transcript)]


def test_txt_with_timestamps_and_speakers(transcript):
    text = transcript_render(transcript=transcript, format="txt",
                             options=ExportOptions(timestamps=True, speakers=True)).content.decode()
    assert text.splitlines()[1] == "[00:00:01] spk1: 我们先讨论预算问题。"
    assert text.splitlines()[3] == "[00:00:03] spk1: 會議結束，謝謝大家。"


def test_txt_with_speakers_writes_paragraphs_per_turn(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, segments=[
        (0, 1, "你好。", "spk0"), (1, 2, "再见。", "spk0"), (2, 3, "好的。", "spk1")])
    text = transcript_render(transcript=transcript, format="txt",
                             options=ExportOptions(speakers=True)).content.decode()
    assert text == "spk0: 你好。再见。\n\nspk1: 好的。\n"


def test_chinese_conversion_both_ways(transcript):
    simplified = transcript_render(transcript=transcript, format="txt",
                                   options=ExportOptions(chinese="simplified")).content.decode()
    assert "会议结束，谢谢大家。" in simplified and "會議" not in simplified
    traditional = transcript_render(transcript=transcript, format="txt",
                                    options=ExportOptions(chinese="traditional")).content.decode()
    assert "大家好，歡迎參加今天的會議。" in traditional and "The budget is 1,000 dollars." in traditional


def test_punctuation_width(transcript):
    half = transcript_render(transcript=transcript, format="txt",
                             options=ExportOptions(punctuation="half")).content.decode()
    assert half.splitlines()[0] == "大家好,欢迎参加今天的会议."
    assert to_full_width("你好,世界. 3.14 and 1,000") == "你好，世界。3.14 and 1,000"
    assert to_full_width("The budget is 1,000 dollars.") == "The budget is 1,000 dollars."
    assert to_half_width("“好”！（是）") == '"好"!(是)'


def test_unknown_format_or_option_is_refused(transcript):
    with pytest.raises(ExportError):
        transcript_render(transcript=transcript, format="pdf")
    with pytest.raises(ExportError):
        ExportOptions(chinese="klingon")


@pytest.mark.parametrize(("name", "expected"), [
    ("会议录音 2024-05.wav", "会议录音 2024-05.txt"),
    ("../../etc/passwd", "passwd.txt"),
    ("C:\\Users\\ann\\Desktop\\call.mp3", "call.txt"),
    ('a<b>:"c|d?*.mp3', "a_b___c_d__.txt"),
    ("CON.wav", "_CON.txt"),
    ("lpt1.mp3", "_lpt1.txt"),
    ("  .hidden. .m4a", "hidden.txt"),
    ("...", "transcript.txt"),
    ("tab\there\x00.wav", "tab here_.txt"),
])
def test_download_names_are_safe_on_every_os(name, expected):
    assert safe_filename(name, "txt") == expected


def test_long_names_are_cut_on_a_character_boundary():
    name = safe_filename("录" * 200 + ".wav", "docx")
    assert name.endswith("录.docx") and len(name.encode()) <= 200


def test_content_disposition_carries_the_utf8_name():
    header = content_disposition("会议 录音.docx")
    assert header.startswith('attachment; filename="download.docx"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == "会议 录音.docx"


def test_download_view_serves_the_file(transcript, bob):
    r = login(bob).get(f"/transcripts/{transcript.id}/export/?format=srt&speakers=1&chinese=simplified")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/x-subrip")
    assert "filename*=UTF-8''%E4%BC%9A" in r["Content-Disposition"]
    assert "spk1: 会议结束，谢谢大家。" in r.content.decode()
    event = AuditEvent.objects.get(action="transcript.export")
    assert event.actor == bob and event.detail["format"] == "srt" and event.detail["chinese"] == "simplified"


def test_download_view_says_what_is_wrong(transcript, alice):
    r = login(alice).get(f"/transcripts/{transcript.id}/export/?format=pdf")
    assert r.status_code == 400 and "Unknown export format" in r.content.decode()
    r = login(alice).get(f"/transcripts/{transcript.id}/export/?format=txt&punctuation=wide")
    assert r.status_code == 400


# --- project exports ----------------------------------------------------------------

def test_a_viewer_exports_a_small_project_as_a_zip(transcript, project, alice, bob, new_transcript):
    new_transcript(project, user=alice, name="会议录音 2024-05.wav")  # same name: must not collide
    failed = new_transcript(project, user=alice, name="broken.wav")
    failed.job.status = JobStatus.FAILED
    failed.job.save()
    c = login(bob)
    # Built in the request: the page it goes back to starts the download (test_export_flow.py).
    c.post(f"/projects/{project.id}/exports/", {"format": "srt", "speakers": "1"})
    export = ProjectExport.objects.get()
    assert export.status == ExportStatus.READY and export.requested_by == bob
    page = c.get(f"/projects/{project.id}/exports/").content.decode()
    assert f"/exports/{export.id}/download/" in page
    r = c.get(f"/exports/{export.id}/download/")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert "Interviews - srt - " in unquote(r["Content-Disposition"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert sorted(archive.namelist()) == ["会议录音 2024-05 (2).srt", "会议录音 2024-05.srt"]
    cues = parse_cues(archive.read("会议录音 2024-05.srt").decode())
    assert len(cues) == 4 and cues[1][2] == "spk1: 我们先讨论预算问题。"
    assert AuditEvent.objects.filter(action="project.export", actor=bob).exists()


def test_a_large_project_is_built_by_a_background_task(transcript, project, alice, settings,
                                                       django_capture_on_commit_callbacks):
    settings.PROJECT_EXPORT_INLINE_MAX = 0
    broker_purge()
    c = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        c.post(f"/projects/{project.id}/exports/", {"format": "docx"})
    export = ProjectExport.objects.get()
    assert export.status == ExportStatus.PENDING
    queued = broker_take_one()
    assert queued["func"] == "transcription.tasks.build_project_export" and queued["args"] == (str(export.id),)
    page = c.get(f"/projects/{project.id}/exports/").content.decode()
    assert "Preparing" in page and 'hx-trigger="every 2s"' in page
    assert c.get(f"/exports/{export.id}/download/").status_code == 404
    assert tasks.build_project_export(*queued["args"]) == "ready"
    r = c.get(f"/exports/{export.id}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    document = docx.Document(io.BytesIO(archive.read("会议录音 2024-05.docx")))
    assert "我们先讨论预算问题。" in "\n".join(p.text for p in document.paragraphs)


def test_an_empty_project_says_there_is_nothing_to_export(project, alice):
    r = login(alice).post(f"/projects/{project.id}/exports/", {"format": "txt"}, follow=True)
    assert "no finished transcripts" in r.content.decode()
    assert not ProjectExport.objects.exists()


def test_project_exports_are_private_to_the_team(transcript, project, alice, charlie):
    login(alice).post(f"/projects/{project.id}/exports/", {"format": "txt"})
    export = ProjectExport.objects.get()
    c = login(charlie)
    assert c.get(f"/projects/{project.id}/exports/").status_code == 404
    assert c.post(f"/projects/{project.id}/exports/", {"format": "txt"}).status_code == 404
    assert c.get(f"/exports/{export.id}/download/").status_code == 404
    assert ProjectExport.objects.count() == 1


def test_a_failed_build_is_shown_not_left_pending(transcript, project, alice):
    export = ProjectExport.objects.create(project=project, requested_by=alice, format="txt",
                                          options={"chinese": "klingon"})
    assert tasks.build_project_export(str(export.id)) == "failed"
    export.refresh_from_db()
    assert export.finished_at is not None and not export.file
    page = login(alice).get(f"/projects/{project.id}/exports/").content.decode()
    assert "could not be built" in page and "every 2s" not in page
