"""Risk across messages: the pure turn API, its state, decay and the cross-message rules.

Conversations are invented for these tests; none is a row of a labelled set.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.vocabulary import RiskLevel
from lexicons.conversation import (
    KINDS,
    MAX_MARKS,
    MAX_TRACES,
    ConversationRisk,
    ConversationStateError,
    Mark,
    Trace,
)
from lexicons.detector import TurnResult, default_detector

N, L, M, H = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH
IMM = RiskLevel.IMMINENT
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def replay(*turns: tuple[float, str]) -> list[TurnResult]:
    """Send each (minutes since the start, text) in order, storing the state as JSON between."""
    detector = default_detector()
    stored: str | None = None
    out = []
    for minutes, text in turns:
        state = None if stored is None else ConversationRisk.from_json(stored)
        result = detector.assess_turn(text, state, T0 + timedelta(minutes=minutes))
        stored = result.state.to_json()
        out.append(result)
    return out


def levels(*turns: tuple[float, str]) -> list[RiskLevel]:
    return [r.assessment.level for r in replay(*turns)]


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # A plan, then a bland "see you then": the last message alone says nothing.
        (((0, "我们约好了周日晚上去江边那座桥"), (2, "她会带上药"), (3, "到时候见")), IMM),
        (
            (
                (0, "we agreed on sunday night at the bridge"),
                (1, "she has pills for both of us"),
                (2, "ok i'll be there"),
            ),
            IMM,
        ),
        # Time, means and being alone, each in its own message.
        (((0, "安眠药我一直攒着没吃"), (3, "今晚家里没人"), (4, "就这样吧")), IMM),
        # Something swallowed, then its effects.
        (((0, "刚吃了我妈的药，一整板"), (6, "好困 眼睛睁不开")), IMM),
        # A friend's goodbye, then no answer.
        (
            (
                (0, "我同桌把她最喜欢的耳机送给我了 还说谢谢我"),
                (50, "刚才她发了句永别了"),
                (52, "现在打她电话关机了"),
            ),
            IMM,
        ),
        # A friend shows pills, says bye, then cannot be reached.
        (
            (
                (0, "my friend just sent me a photo of a bunch of pills"),
                (1, "then she said bye"),
                (9, "her phone is off"),
            ),
            IMM,
        ),
        # A friend said she would kill herself, later hands her things over.
        (
            (
                (0, "my friend told me she's going to kill herself"),
                (30, "now she's giving all her stuff away"),
            ),
            H,
        ),
        # The mind made up and a day set, after despair.
        (
            (
                (0, "would anyone even come to my funeral"),
                (3, "i've made up my mind"),
                (5, "this weekend"),
            ),
            H,
        ),
        # A friend's goodbye post (a social-media story, not a story told), then silence.
        (
            (
                (0, "my friend posted a goodbye on her story"),
                (5, "she hasn't replied to anyone since"),
            ),
            IMM,
        ),
        # Alone while everyone is out, a whole bottle, now.
        (
            (
                (0, "everyone's out at a party"),
                (30, "i have a whole bottle of painkillers here"),
                (31, "now's my chance"),
            ),
            IMM,
        ),
        # A friend texts thanks for everything, then will not pick up.
        (
            (
                (0, "my friend texted me thanks for always being there"),
                (3, "now she won't answer"),
            ),
            H,
        ),
        # The means packed, a place nobody goes to, a time.
        (
            (
                (0, "the rope is in my bag"),
                (2, "i know a barn nobody goes to"),
                (4, "after school"),
            ),
            IMM,
        ),
        # A counted dose swallowed, the drug unnamed, then its effects.
        (((0, "吞了三十多片"), (10, "头好晕 眼前模糊")), IMM),
        # A friend's farewell post, then she answers nobody.
        (((0, "我同桌在朋友圈发了一条告别的话"), (20, "谁都不回")), IMM),
        # The whole family out, a whole bottle, now.
        (((0, "全家都去奶奶家了"), (30, "柜子里有一整瓶安眠药"), (31, "就现在")), IMM),
        # A parent's pills, counted, and a time.
        (
            (
                (0, "my dad keeps sleeping pills in the bathroom"),
                (3, "i counted 35 pills"),
                (20, "tonight after they go to bed"),
            ),
            IMM,
        ),
        # A height asked about, then how sure it would be.
        (((0, "how many floors is the roof of the mall"), (2, "so you would not survive")), H),
        # Something caustic swallowed, then it burns.
        (
            ((0, "we keep bleach in the bathroom"), (8, "i drank some"), (12, "throat is burning")),
            IMM,
        ),
        # Belongings given away, with despair.
        (((0, "感觉什么都不会好起来了"), (20, "我把我的吉他送给表哥了 反正以后也用不上")), H),
    ],
)
def test_risk_that_builds_across_messages_is_caught(
    turns: tuple[tuple[float, str], ...], expected: RiskLevel
) -> None:
    assert max(levels(*turns)) >= expected


@pytest.mark.parametrize(
    "turns",
    [
        ((0, "周末去山上烧烤"), (2, "我负责买炭"), (30, "到时候见！")),
        ((0, "下学期我要转学去成都了"), (2, "把我的书都送给同桌了"), (4, "谢谢大家这两年的照顾")),
        ((0, "刚才游戏里又被打死了"), (60, "晚饭吃了面条"), (61, "明天见")),
        ((0, "感冒了，吃了两片感冒药"), (5, "好困 想睡觉")),
        # A height asked about, and sure of something else.
        ((0, "how tall is the new library"), (30, "i'm sure it's huge")),
        # Parents out on Friday night is not a friend's goodbye.
        ((0, "my friend isn't answering her phone"), (2, "my parents are out friday night")),
        # Someone else's words, just after a news story came up: still the story.
        ((0, "did you see the news about that actor"), (2, "they said he took pills"), (3, "sad")),
    ],
)
def test_safe_conversations_stay_below_moderate(turns: tuple[tuple[float, str], ...]) -> None:
    assert max(levels(*turns)) < M


def test_the_window_counts_whatever_the_last_message_says() -> None:
    results = replay((0, "药我已经攒够了"), (1, "就今天吧"))
    assert results[-1].assessment.level is IMM
    earlier = [e for e in results[-1].assessment.evidence if e.message < 0]
    assert earlier, "the earlier message's part is in the evidence"
    assert all(e.message == -1 and e.text == "" for e in earlier)  # the state holds no text


def test_a_plan_two_days_ago_still_counts_but_a_time_word_expires() -> None:
    assert levels((0, "我已经偷偷攒了好多安眠药"), (2 * 24 * 60, "今晚就是最后一次了"))[-1] >= H
    # "tonight" said four days ago does not make today's means a plan for tonight.
    later = levels((0, "今晚"), (4 * 24 * 60, "药都在抽屉里"))
    assert later[-1] < IMM


def test_a_game_an_hour_ago_does_not_matter() -> None:
    assert levels((0, "刚才游戏里跳崖摔死了五次"), (60, "晚安"))[-1] is N


def test_earlier_messages_are_never_quoted_by_the_state() -> None:
    words = "我把我最喜欢的手链送给了妹妹"
    state = replay((0, words), (1, "以后也用不上了"))[-1].state
    stored = state.to_json()
    assert "手链" not in stored
    assert words not in stored
    assert ConversationRisk.from_json(stored) == state


def test_the_state_is_bounded_however_long_the_conversation() -> None:
    detector = default_detector()
    state = None
    for minute in range(200):
        text = "我好累，活着没意思，药都在抽屉里" if minute % 3 else "今天上课好无聊"
        state = detector.assess_turn(text, state, T0 + timedelta(minutes=minute)).state
    assert state is not None
    assert state.seen == 200
    assert len(state.traces) <= MAX_TRACES
    assert all(len(t.marks) <= MAX_MARKS for t in state.traces)
    assert len(state.to_json()) < 16_000


def test_the_state_decays_to_nothing() -> None:
    state = replay((0, "我想死"))[-1].state
    assert state.level_at(T0) is H
    assert state.level_at(T0 + timedelta(days=4)) is N
    later = default_detector().assess_turn("今天还好", state, T0 + timedelta(days=5)).state
    assert [t.seq for t in later.traces] == []


def test_assess_with_a_window_matches_the_turn_api() -> None:
    detector = default_detector()
    window = ["我偷偷攒了很多安眠药"]
    assert detector.assess("这周五就可以解脱了", window).level is IMM
    evidence = [e for e in detector.assess("这周五就可以解脱了", window).evidence if e.message]
    assert any(e.text and e.text in window[0] for e in evidence)  # assess quotes the window


traces = st.builds(
    Trace,
    seq=st.integers(min_value=1, max_value=10_000),
    at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    level=st.sampled_from(RiskLevel),
    categories=st.lists(st.sampled_from(["plan", "distress", "peer_concern"]), unique=True).map(
        tuple
    ),
    marks=st.lists(
        st.builds(Mark, st.sampled_from(sorted(KINDS)), st.integers(0, 50), st.integers(50, 99)),
        max_size=MAX_MARKS,
    ).map(tuple),
    score=st.floats(min_value=0, max_value=1),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(traces, max_size=MAX_TRACES, unique_by=lambda t: t.seq))
def test_any_state_survives_json(items: list[Trace]) -> None:
    ordered = tuple(sorted(items, key=lambda t: t.seq))
    state = ConversationRisk(max((t.seq for t in ordered), default=0), ordered)
    assert ConversationRisk.from_json(state.to_json()) == state


def _stored(**changes: object) -> str:
    raw = json.loads(replay((0, "我想死"))[-1].state.to_json())
    trace = raw["traces"][0]
    for key, value in changes.items():
        if key in trace:
            trace[key] = value
        else:
            raw[key] = value
    return json.dumps(raw)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "not json",
        "[]",
        "null",
        '{"format": 2, "seen": 0, "traces": []}',
        '{"format": 1, "seen": -1, "traces": []}',
        '{"format": 1, "seen": true, "traces": []}',
        '{"format": 1, "seen": 0, "traces": {}}',
        _stored(at="2026-03-02T15:00:00"),  # no time zone
        _stored(at="yesterday"),
        _stored(level="extreme"),
        _stored(seq=0),
        _stored(seq=5),  # later than "seen"
        _stored(score=1.5),
        _stored(score=True),
        _stored(categories=["made_up"]),
        _stored(categories=[["plan"]]),
        _stored(marks=[["teleport", 0, 1]]),
        _stored(marks=[["plan", 3, 1]]),
        _stored(marks=[[["plan"], 0, 1]]),
        _stored(marks="plan"),
        _stored(extra="field"),
        _stored(traces=[{}] * (MAX_TRACES + 1)),
    ],
)
def test_a_malformed_state_raises_one_specific_error(data: str) -> None:
    with pytest.raises(ConversationStateError):
        ConversationRisk.from_json(data)
