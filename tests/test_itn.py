"""Numbers as digits (inverse text normalisation): the exact outputs users
get, and how display, search, exports and edits use them while the stored
text stays what the model said."""

from __future__ import annotations

import json

import pytest

from tests.conftest import login
from transcription.models import Segment, Transcript
from transcription.numbers import to_digits
from transcription.services.itn import segment_digits

pytest_plugins = ["tests.transcript_factory"]

PHRASES = [
    ("我们在二零二四年三月五日下午三点开会", "我们在2024年3月5日下午三点开会"),  # a date
    ("百分之十五", "15%"),  # a percentage
    ("百分之三点五", "3.5%"),
    ("一三八零零一三八零零零", "13800138000"),  # a phone number
    ("一百二十三点五元", "¥123.5"),  # money
    ("一百美元", "$100"),
    ("三月五号", "3月5日"),  # a spoken day
    ("下午三点半", "下午3:30"),  # clock times
    ("上午九点十五分", "上午9:15"),
    ("第二十三届", "第23届"),  # an ordinal
    ("零点二五", "0.25"),  # a decimal
    ("二分之一", "1/2"),  # a fraction
    ("三千五百万", "3500万"),  # a large number keeps its unit
    ("七乘八等于五十六", "7×8=56"),  # arithmetic
    ("Python 三点一二 版本", "Python 3.12 版本"),  # mixed Chinese-English
    ("iPhone 十五", "iPhone 15"),
    ("啊对", "啊对"),  # interjections stay
    ("嗯我觉得可以", "嗯我觉得可以"),  # no numbers: untouched
]


@pytest.mark.parametrize(("spoken", "written"), PHRASES)
def test_it_writes_numbers_as_digits(spoken, written):
    assert to_digits(spoken) == written


def digits_transcript(new_transcript, project, alice, segments):
    transcript = new_transcript(project, user=alice, segments=segments)
    for segment in transcript.segments.all():
        segment.text_itn = segment_digits(segment.text)
        segment.save(update_fields=["text_itn"])
    return transcript


@pytest.fixture
def meeting(project, alice, new_transcript) -> Transcript:
    return digits_transcript(new_transcript, project, alice, [(0.0, 2.0, "我们在二零二四年三月五日下午三点开会。", ""),
                                              (2.0, 4.0, "预算增加百分之十五。", "")])


def test_the_page_shows_digits_and_keeps_the_models_text(meeting, alice):
    html = login(alice).get(f"/transcripts/{meeting.id}/").content.decode()
    assert "我们在2024年3月5日下午三点开会。" in html and "15%" in html
    assert list(meeting.segments.values_list("text", flat=True))[1] == "预算增加百分之十五。"


def test_a_project_with_itn_off_shows_the_numerals(meeting, alice, project):
    project.itn = "off"
    project.save(update_fields=["itn"])
    html = login(alice).get(f"/transcripts/{meeting.id}/").content.decode()
    assert "百分之十五" in html and "15%" not in html


def test_the_page_switches_numbers_for_the_reader_and_remembers_it(meeting, alice, bob):
    client = login(alice)
    page = client.get(f"/transcripts/{meeting.id}/").content.decode()
    assert '<a href="?numbers=digits" aria-current="true">As digits</a>' in page
    spoken = client.get(f"/transcripts/{meeting.id}/", {"numbers": "spoken"}).content.decode()
    assert "百分之十五" in spoken and "15%" not in spoken
    assert '<a href="?numbers=spoken" aria-current="true">As spoken</a>' in spoken
    # Remembered for this reader: a reload and a segment re-rendered after an edit keep it.
    assert "百分之十五" in client.get(f"/transcripts/{meeting.id}/").content.decode()
    segment = client.get(f"/transcripts/{meeting.id}/segments/1/", HTTP_HX_REQUEST="true").content.decode()
    assert "百分之十五" in segment
    # Not for anyone else, and the project's setting is untouched.
    assert "15%" in login(bob).get(f"/transcripts/{meeting.id}/").content.decode()
    meeting.job.project.refresh_from_db()
    assert meeting.job.project.itn == "auto"


def test_the_numbers_switch_shows_only_where_numbers_differ(project, alice, new_transcript):
    plain = digits_transcript(new_transcript, project, alice, [(0.0, 2.0, "嗯我觉得可以", "")])
    assert "numbers-switch" not in login(alice).get(f"/transcripts/{plain.id}/").content.decode()


def test_search_finds_the_digits_and_the_numerals(meeting, alice):
    client = login(alice)
    assert "预算增加" in client.get("/search/", {"q": "15%"}).content.decode()
    assert "预算增加" in client.get("/search/", {"q": "百分之十五"}).content.decode()


def test_exports_follow_the_project_unless_asked(meeting, alice):
    client = login(alice)
    url = f"/api/v1/transcripts/{meeting.id}/export/"
    assert "15%" in client.get(url, {"format": "txt"}).content.decode()
    assert "百分之十五" in client.get(url, {"format": "txt", "itn": "false"}).content.decode()
    r = client.get(url, {"format": "txt", "itn": "maybe"})
    assert r.status_code == 400 and "itn must be true or false" in r.json()["detail"]


def test_an_edit_is_made_on_the_digits_and_kept_as_typed(meeting, alice):
    client = login(alice)
    r = client.post(f"/transcripts/{meeting.id}/segments/1/", {"text": "预算增加15%，从下周开始。"})
    assert r.status_code in (200, 302)
    segment = Segment.objects.get(transcript=meeting, index=1)
    assert segment.text == "预算增加15%，从下周开始。" and segment.verbatim
    # what the person typed is shown whether digits are on or off: never turned back into numerals
    url = f"/api/v1/transcripts/{meeting.id}/export/"
    for itn in ("true", "false"):
        assert "预算增加15%，从下周开始。" in client.get(url, {"format": "txt", "itn": itn}).content.decode()


def test_json_export_keeps_both_texts(meeting, alice):
    data = json.loads(login(alice).get(f"/api/v1/transcripts/{meeting.id}/export/", {"format": "json"}).content)
    assert data["segments"][1]["text"] == "预算增加15%。"
