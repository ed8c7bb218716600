"""The detector never raises and its evidence always lies inside what it was given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.vocabulary import RiskLevel
from lexicons.detector import assess


@pytest.mark.parametrize(
    "text", ["", "   ", "\n\n", "😭😭😭", "🙂", "\x00\x1b[31m", "\ud800", "a" * 5000, "。" * 300]
)
def test_odd_messages_get_a_valid_result(text: str) -> None:
    result = assess(text)
    assert isinstance(result.level, RiskLevel)
    assert result.explanation


def test_a_very_long_message_is_assessed_in_full() -> None:
    text = "今天很普通。" * 1200 + "我现在就站在楼顶，准备跳下去"
    assert len(text) > 4096
    result = assess(text)
    assert result.level >= RiskLevel.HIGH
    assert all(e.start >= 7000 for e in result.evidence)


def test_mixed_scripts() -> None:
    assert assess("今天好emo，i want to die，真的").level >= RiskLevel.HIGH


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.lists(st.text(max_size=80), max_size=3))
def test_never_raises_and_evidence_lies_inside_the_input(text: str, window: list[str]) -> None:
    result = assess(text, window)
    for ev in result.evidence:
        source = text if ev.message == 0 else window[ev.message]
        assert 0 <= ev.start < ev.end <= len(source)
        assert source[ev.start : ev.end] == ev.text


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("我想死自杀不活着今晚药一整瓶吃了了楼顶跳他她 ,。"), max_size=40
    )
)
def test_risky_alphabet_never_raises(text: str) -> None:
    assert assess(text).level in RiskLevel
