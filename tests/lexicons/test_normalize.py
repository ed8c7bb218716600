"""Normalisation: evasions undone, innocent phrases kept, and a faithful map back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexicons.lexicon import load_lexicon
from lexicons.normalize import Normalized

NORMALIZE = load_lexicon().normalizer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("我 想 自 杀", "我想自杀"),  # spaced characters
        ("自.杀", "自杀"),
        ("自-杀", "自杀"),
        ("自_*杀", "自杀"),
        ("自\u200b杀", "自杀"),  # zero-width space
        ("我真的想自殺", "我真的想自杀"),  # Traditional
        ("跳樓", "跳楼"),
        ("ＩＷＡＮＴＴＯＤＩＥ", "iwanttodie"),  # full width, folded (not spelled out)
        ("w a n t t o d i e", "want to die"),  # spelled out, re-split into words
        ("k.i.l.l m.y.s.e.l.f", "kill myself"),
        ("i wanna d1e", "i want to die"),  # leet, chat spelling
        ("k1ll myself", "kill myself"),
        ("dieeeeee", "die"),
        ("有点想紫砂", "有点想自杀"),  # homophone slang
        ("想zs", "想自杀"),
        ("我想自s", "我想自杀"),
        ("亖了算了", "死了算了"),
        ("i want to kms", "i want to kill myself"),
        ("sewer slide", "suicide"),
        ("I’m so done", "i am so done"),  # curly apostrophe and contraction
        ("哈哈哈哈哈哈", "哈哈"),
    ],
)
def test_evasions_are_undone(raw: str, expected: str) -> None:
    assert NORMALIZE(raw).text == expected


@pytest.mark.parametrize(
    "raw",
    ["我爸买了个紫砂壶", "紫砂杯真好看", "my zsh config", "im at odds"],
)
def test_innocent_phrases_survive(raw: str) -> None:
    text = NORMALIZE(raw).text
    assert "自杀" not in text
    assert "kill" not in text


def test_spans_map_back_to_what_the_student_wrote() -> None:
    raw = "今天好累。。我 想 紫砂"
    result = NORMALIZE(raw)
    start = result.text.index("自杀")
    begin, end = result.original_span(start, start + 2)
    assert raw[begin:end] == "紫砂"
    start = result.text.index("想")
    begin, end = result.original_span(start, start + 3)
    assert raw[begin:end] == "想 紫砂"


def test_expansions_keep_their_source() -> None:
    raw = "kms"
    result = NORMALIZE(raw)
    assert result.text == "kill myself"
    assert result.original_span(0, len(result.text)) == (0, 3)


def test_empty_and_odd_input() -> None:
    assert NORMALIZE("").text == ""
    assert NORMALIZE("   \n\t ").text == ""
    assert NORMALIZE("\x00\x01\x7f").text == ""
    assert NORMALIZE("\ud800abc").text == "abc"  # a lone surrogate is a separator


def _check_map(raw: str, result: Normalized) -> None:
    assert len(result.starts) == len(result.ends) == len(result.text)
    for start, end in zip(result.starts, result.ends, strict=True):
        assert 0 <= start <= end <= len(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_unicode_normalises_with_a_valid_map(raw: str) -> None:
    result = NORMALIZE(raw)
    _check_map(raw, result)
    for i in range(len(result.text)):
        begin, end = result.original_span(i, i + 1)
        assert 0 <= begin <= end <= len(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("自杀想死我 .-_紫砂壶wantodiekms1!"), max_size=40))
def test_evasion_alphabet_normalises_with_a_valid_map(raw: str) -> None:
    _check_map(raw, NORMALIZE(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_normalisation_is_stable(raw: str) -> None:
    once = NORMALIZE(raw).text
    assert NORMALIZE(once).text == NORMALIZE(NORMALIZE(once).text).text
