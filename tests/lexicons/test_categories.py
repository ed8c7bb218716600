"""The new and sharper categories, each with a look-alike that must stay quiet.

Messages are invented for these tests; none is a row of a labelled set.
"""

from __future__ import annotations

import itertools

import pytest

from core.vocabulary import RiskLevel
from lexicons.analysis import Analyser
from lexicons.detector import assess, default_detector
from lexicons.segments import CHOSEN, SEGMENT, WHOLE, split

N, L, M, H = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH
IMM = RiskLevel.IMMINENT


@pytest.mark.parametrize(
    ("text", "floor", "category"),
    [
        ("有没有人想一起离开这个世界 我一个人不敢", H, "suicide_pact"),
        ("我和网友约好了 一起去跳河", H, "suicide_pact"),
        ("we're both on the roof now, we said we'd jump together", IMM, "suicide_pact"),
        ("我每顿饭吃完都偷偷去厕所吐掉", M, "eating_disorder"),
        ("最近一天只吃三百卡，还想再少一点", M, "eating_disorder"),
        ("i make myself throw up after dinner every night", M, "eating_disorder"),
        ("已经五天没吃东西了 今天上课晕倒了", H, "eating_disorder"),
        ("我叔叔老是趁家里没人摸我 还说不许告诉妈妈", M, "sexual_abuse"),
        ("我好朋友刚发了一张药的照片说再见，现在电话打不通", IMM, "peer_concern"),
        (
            "my best friend gave away her stuff and said goodbye to everyone, she's not answering",
            H,
            "peer_concern",
        ),
        ("几楼跳下去才能确定", H, "means_method"),
        ("我写好了给每个人的信，设置了定时发送，反正以后也用不上了", H, "farewell"),
    ],
)
def test_each_category_is_caught(text: str, floor: RiskLevel, category: str) -> None:
    result = assess(text)
    assert result.level >= floor
    assert category in result.categories


@pytest.mark.parametrize(
    "text",
    [
        "周末有没有人一起去看电影",
        "anyone want to go together to the book fair on saturday?",
        "今天体育课跑完八百米吐了",
        "我爷爷做完手术要吃泻药，天天抱怨",
        "新闻说有个明星在家里自杀了，好多人在讨论",
        "my friend said she's dying to see the new movie",
        "我们班在排话剧，我演一个喝毒药的公主",
        "学校的楼有几层啊？我们在做数学题",
        "下个月要转学了 把我的漫画都送给同桌了",
        "我给外婆买了药",
    ],
)
def test_look_alikes_stay_below_moderate(text: str) -> None:
    assert assess(text).level < M, text


def test_someone_elses_story_is_never_an_emergency() -> None:
    for text in (
        "新闻里说有个女生吃了一整瓶安眠药",
        "in the film she stands on the bridge and jumps",
    ):
        assert assess(text).level < H


def test_a_crisis_at_the_end_of_a_long_message_is_kept() -> None:
    text = "今天上课有点走神，后来和同学去操场打球。" * 300 + "我现在已经站在楼顶了，准备跳下去"
    result = assess(text)
    assert result.level is IMM
    assert all(ev.start > len(text) - 200 for ev in result.evidence if ev.message == 0)


@pytest.mark.parametrize(
    "text",
    [
        "我想自杀 " * 1000,
        "他说我想死，" * 800,
        "我吃了三十片安眠药" * 500,
        "自 杀 " * 1500,
        "死" * 5000,
        "，" * 5000,
        "a" * 100_000,
        "😭💊🔪🌉" * 1024,
    ],
)
def test_a_long_message_is_read_in_a_bounded_number_of_segments(text: str) -> None:
    analysis = Analyser(default_detector().lexicon)(text)
    if len(text) > WHOLE:
        assert len(analysis.parts) <= CHOSEN
        assert all(len(p.normalized.text) <= 2 * SEGMENT for p in analysis.parts)
    assert isinstance(assess(text).level, RiskLevel)


def test_segments_cover_the_text_and_prefer_clause_breaks() -> None:
    text = "第一句话。" * 100 + "x" * 450
    segments = split(text)
    assert segments[0].start == 0
    assert segments[-1].end == len(text)
    assert all(b.start <= a.end for a, b in itertools.pairwise(segments))
    assert all(s.end - s.start <= SEGMENT for s in segments)
    assert text[segments[0].end - 1] == "。"
