"""Numbers as digits in what meetings say: dates with times, ranges, money, percentages, phone
numbers, ordinals and years, written the way a Chinese editor writes them; and no input, however
long, makes the conversion run away.

House style (the README's "Numbers as digits"): dates 2024年3月5日; a clock time with minutes
下午3:30, its spoken part of the day kept (晚上, 早上); a whole hour and any number under ten stay
as said (下午三点, 第三次); money in 万/亿 or named by a code reads 300万美元, a plain sum ¥500;
ranges carry their unit on both ends (15%~20%, 30万~50万); approximate numbers stay as said (七八个);
digits read one by one are one number (4008208820).
"""

from __future__ import annotations

import importlib
import random

import pytest
from django.apps import apps

from tests.conftest import login
from transcription.models import Segment
from transcription.numbers import MAX_CHUNK, to_digits

pytest_plugins = ["tests.transcript_factory"]

MEETING_PHRASES = [
    # dates with times: the grammar's "03/05" and "3:30p.m." used to run together
    ("三月五日下午三点半开会", "3月5日下午3:30开会"),
    ("二零二四年三月五日下午三点半", "2024年3月5日下午3:30"),
    ("二零二四年三月五日上午十点半在三楼会议室", "2024年3月5日上午10:30在三楼会议室"),
    ("我们定在十月一日下午两点零五分出发", "我们定在10月1日下午2:05出发"),
    ("二零二四年十二月三十一日下午五点半之前提交", "2024年12月31日下午5:30之前提交"),
    ("三月五日晚上七点半聚餐", "3月5日晚上7:30聚餐"),
    ("五月一号早上八点集合", "5月1日早上八点集合"),
    ("我们在二零二四年三月五日下午三点开会", "我们在2024年3月5日下午三点开会"),
    ("三月五日十点开会", "3月5日十点开会"),
    # clock times and their ranges
    ("下周三上午九点到十点开个短会", "下周三上午九点到十点开个短会"),
    ("明天下午两点半到三点半面试", "明天下午2:30到3:30面试"),
    ("时间是上午十点半到十一点半", "时间是上午10:30到11:30"),
    ("会议从九点半开始，十一点四十五分结束", "会议从9:30开始，11:45结束"),
    ("周五晚上八点半线上过一下", "周五晚上8:30线上过一下"),
    ("傍晚六点十分到", "傍晚6:10到"),
    # date ranges, months and years
    ("三月五日到八日出差", "3月5日到8日出差"),
    ("报名时间是三月五号到三月八号", "报名时间是3月5日到3月8日"),
    ("二零二四年到二零二五年的规划", "2024年到2025年的规划"),
    ("二零二四年三月的数据", "2024年3月的数据"),
    ("一九四九年十月一日", "1949年10月1日"),
    ("截止到四月一号之前", "截止到4月1日之前"),
    ("九十年代的时候", "90年代的时候"),
    ("二三年的收入比零八年高", "23年的收入比08年高"),
    ("今年是二零二五年", "今年是2025年"),
    # percentages in sentences
    ("第三季度营收增长了百分之十五", "第三季度营收增长了15%"),
    ("毛利率从百分之二十提高到百分之二十五", "毛利率从20%提高到25%"),
    ("转化率大概在百分之十到百分之二十之间", "转化率大概在10%~20%之间"),
    ("预计增长百分之十五到二十", "预计增长15%~20%"),
    ("不良率控制在百分之零点五以内", "不良率控制在0.5%以内"),
    ("百分之五十的人同意", "50%的人同意"),
    # money with units
    ("融资三百万美元", "融资300万美元"),
    ("估值二十亿美元", "估值20亿美元"),
    ("合同金额一千五百万人民币", "合同金额1500万人民币"),
    ("预算是三百五十万元", "预算是350万元"),
    ("每人补贴五百元", "每人补贴¥500"),
    ("报销了三千三百八十元五毛八分", "报销了¥3380.58"),
    ("这个月成本降低了两千块钱", "这个月成本降低了2000块钱"),
    ("收入十二点五亿元", "收入12.5亿元"),
    ("投入大概三十到五十万", "投入大概30万~50万"),
    ("预算在三十万到五十万之间", "预算在30万~50万之间"),
    ("年销售额三百到四百万", "年销售额300万~400万"),
    # phone numbers and other digit strings
    ("我的电话是一三八零零一三八零零零", "我的电话是13800138000"),
    ("客服电话四零零八二零八八二零", "客服电话4008208820"),
    ("有事打幺三九幺二三四五六七八", "有事打13912345678"),
    ("分机号是八零零一", "分机号是8001"),
    # ordinals
    ("这是第二十三届年会", "这是第23届年会"),
    ("第十一次会议", "第11次会议"),
    ("第三次会议", "第三次会议"),
    ("第一个议题是预算", "第一个议题是预算"),
    # counts, ranges of counts, approximate numbers
    ("一共三十五个人参加", "一共35个人参加"),
    ("三十到四十个人", "30~40个人"),
    ("大概七八个人", "大概七八个人"),
    ("他看起来四十五六岁", "他看起来四十五六岁"),
    ("再等三五天", "再等三五天"),
    ("一百多万用户", "100多万用户"),
    ("版本号是三点一二", "版本号是3.12"),
    # no numbers, or words that only look like them
    ("嗯我觉得可以", "嗯我觉得可以"),
    ("啊对对对，一起看一下", "啊对对对，一起看一下"),
]


@pytest.mark.parametrize(("said", "written"), MEETING_PHRASES)
def test_it_writes_a_meeting_phrase_as_an_editor_would(said, written):
    assert to_digits(said) == written


def test_it_writes_each_phrase_the_same_inside_a_long_segment():
    # one long segment of many phrases, with and without punctuation between them
    phrases = [p for p in MEETING_PHRASES if p[0][-1] not in "0123456789"]
    assert to_digits("，".join(s for s, _ in phrases)) == "，".join(w for _, w in phrases)
    assert to_digits("然后".join(s for s, _ in phrases[:12])) == "然后".join(w for _, w in phrases[:12])


def test_it_finishes_ten_thousand_numerals_and_keeps_them():
    said = "".join(random.Random(7).choice("零一二三四五六七八九") for _ in range(10_000))
    assert to_digits(said) == said  # beyond the guard: kept as said, not hung or mangled
    mixed = f"电话是{said}，三月五日下午三点半开会"
    assert to_digits(mixed) == f"电话是{said}，3月5日下午3:30开会"


def test_it_writes_numbers_in_long_text_without_punctuation():
    phrase = "我们讨论一下三月五日下午三点半开会的预算增加百分之十五"
    said = phrase * (4 * MAX_CHUNK // len(phrase) + 1)
    assert len(said) > 4 * MAX_CHUNK
    assert to_digits(said) == "我们讨论一下3月5日下午3:30开会的预算增加15%" * (said.count(phrase))


def test_it_keeps_quotes_and_backslashes():
    odd = 'a"b\\c 三十 "二十"'
    assert to_digits(odd) == 'a"b\\c 30 "20"'


def test_digits_stored_before_the_fix_are_written_again(project, alice, new_transcript):
    transcript = new_transcript(project, user=alice, segments=[(0.0, 2.0, "三月五日下午三点半开会。", ""),
                                                               (2.0, 4.0, "三月五日下午三点半开会。", "")])
    Segment.objects.filter(transcript=transcript).update(text_itn="03/0下午53:30开会。")  # what 59e028d stored
    Segment.objects.filter(transcript=transcript, index=1).update(text="03/0下午53:30开会。", verbatim=True)
    migration = importlib.import_module("transcription.migrations.0010_digits_rewritten")
    migration.rewrite_digits(apps, None)
    html = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "3月5日下午3:30开会。" in html
    # a person's edit is theirs, even one that looks like the old mistake
    assert Segment.objects.get(transcript=transcript, index=1).text_itn == "03/0下午53:30开会。"
