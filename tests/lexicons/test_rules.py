"""Context rules, one table per rule. Messages are invented for these tests."""

from __future__ import annotations

import pytest

from core.vocabulary import RiskLevel
from lexicons.detector import assess

N, L, M, H = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH
IMM = RiskLevel.IMMINENT


def level(text: str, window: tuple[str, ...] = ()) -> RiskLevel:
    return assess(text, window).level


@pytest.mark.parametrize(
    "text",
    [
        "物理作业多到我要累死了",
        "今天体育课热死人了",
        "这个表情包笑死我了哈哈",
        "数学卷子最后一题难死了",
        "你这个发型帅死了",
        "吓死我了，刚才停电了",
        "饿死了饿死了，食堂怎么还不开门",
        "我的电脑又死机了",
        "好久不见，想死你了",
        "这家店的奶茶死贵",
        "This quiz is killing me",
        "I'm dying to try that bubble tea",
        "lol I died when he fell off the chair",
        "my legs are killing me after PE",
    ],
)
def test_idioms_and_degree_complements_are_quiet(text: str) -> None:
    assert level(text) < M


def test_not_wanting_to_live_is_ideation_not_a_denial() -> None:
    assert level("我不想活了") >= M  # the model may read it as high; never as safe


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我从来没有想过要自杀", N),
        ("我不会自杀的，放心", N),
        ("I would never kill myself", N),
        ("I don't want to kill myself, I just want the pain to stop", M),
        ("我不想死，可是每天都好痛苦", M),  # ambivalence
    ],
)
def test_negation_scope_and_ambivalence(text: str, expected: RiskLevel) -> None:
    assert level(text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "category"),
    [
        ("我好朋友跟我说她想自杀，我该怎么办", M, "peer_concern"),
        ("我想自杀", H, "active_ideation"),
        ("My best friend says she wants to die", M, "peer_concern"),
        ("你去死吧，烦死了", N, None),
    ],
)
def test_first_versus_third_person(text: str, expected: RiskLevel, category: str | None) -> None:
    result = assess(text)
    assert result.level == expected
    if category:
        assert category in result.categories


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("我初一的时候割过手腕", M, M),  # past
        ("昨晚又割了手腕", H, H),  # recent
        ("I cut myself again last night", H, H),
    ],
)
def test_time_moves_self_harm(text: str, low: RiskLevel, high: RiskLevel) -> None:
    assert low <= level(text) <= high


@pytest.mark.parametrize(
    "text",
    [
        "我们历史课讲了自杀式袭击",
        "那部电影里的主角最后跳楼了，好虐",
        "新闻说有个人在桥上跳河了",
        "We read a novel where the main character kills himself",
    ],
)
def test_fiction_news_and_class_framing(text: str) -> None:
    assert level(text) < M


@pytest.mark.parametrize(
    "text",
    [
        "一次吃多少片安眠药会死",
        "从几楼跳下去才会死",
        "how many sleeping pills would kill you",
        # Asked of the bot: "you" is who is asked, not who would take it.
        "do you know what the lethal dose of paracetamol is",
        "你知道吃多少安眠药会死吗",
    ],
)
def test_method_and_dose_questions_are_high(text: str) -> None:
    assert level(text) >= H


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我已经把一整瓶安眠药都吃了", IMM),  # means taken
        ("今晚等家里人睡了我就去跳楼", IMM),  # means + time
        ("我攒了好多安眠药", H),  # gathering means
        ("我想死，家里有很多安眠药", H),  # ideation + means
        ("I just took all of my mom's pills", IMM),
    ],
)
def test_combinations(text: str, expected: RiskLevel) -> None:
    assert level(text) == expected


def test_risk_buried_in_a_long_message_is_found() -> None:
    padding = "今天中午食堂有糖醋排骨，下午体育课打了篮球，晚上写了两个小时作业。" * 20
    assert level(padding + "其实我已经想好了今晚就去跳楼。" + padding) == IMM


def test_window_catches_a_plan_across_messages() -> None:
    window = ("我偷偷攒了很多安眠药",)
    assert level("这周五就可以解脱了", window) == IMM
    assert level("这周五就可以解脱了") < IMM


def test_window_never_lowers_the_current_message() -> None:
    window = ("今天天气真好", "我们去吃火锅吧")
    for text in ("我现在就站在楼顶", "我想自杀", "累死了"):
        assert level(text, window) == level(text)


def test_result_is_deterministic_and_frozen() -> None:
    first = assess("我真的想紫砂，不是开玩笑")
    second = assess("我真的想紫砂，不是开玩笑")
    assert first == second
    assert first.level == H
    assert first.detector_version
    with pytest.raises(AttributeError):
        first.level = N  # type: ignore[misc]


def test_evidence_quotes_the_original_spelling() -> None:
    result = assess("我真的想紫砂")
    quoted = [e.text for e in result.evidence]
    assert any("紫砂" in q for q in quoted)
    assert all("自杀" not in q for q in quoted)
