"""Published scoring of PHQ-2/9, GAD-2/7, the ASQ and the mood checks: every band edge.

Only the PHQ-9 has a published missing-item rule (at most 2 missing, prorated and rounded);
every other form with a skip is unscored.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.instruments import (
    PHQA_TO_PHQ9,
    phq9_order,
    phq_item9_flagged,
    prorated_total,
    round_half_up,
    score_asq,
    score_gad2,
    score_gad7,
    score_mood,
    score_mood_check,
    score_phq2,
    score_phq9,
)


def spread(total: int, items: int, top: int = 3) -> list[int | None]:
    """Item scores summing to ``total``, filled from the first item."""
    answers: list[int | None] = []
    for _ in range(items):
        answers.append(min(top, total))
        total -= answers[-1]
    assert total == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands_at_every_edge(total: int, band: str) -> None:
    result = score_phq9(spread(total, 9))
    assert (result.score, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands_at_every_edge(total: int, band: str) -> None:
    result = score_gad7(spread(total, 7))
    assert (result.score, result.band) == (total, band)


@pytest.mark.parametrize(
    ("answers", "score", "band"),
    [
        ([0, 0], 0, "negative"),
        ([1, 1], 2, "negative"),
        ([2, 1], 3, "positive"),
        ([0, 3], 3, "positive"),
        ([3, 3], 6, "positive"),
        # No published rule prorates a 2-item screen: a skip leaves it unscored (and the
        # check-in goes on to the full form), so "several days" + skip is never "negative".
        ([2, None], None, "unscored"),
        ([1, None], None, "unscored"),
        ([None, None], None, "unscored"),
    ],
)
def test_two_item_screens(answers: list[int | None], score: int | None, band: str) -> None:
    for scorer in (score_phq2, score_gad2):
        result = scorer(answers)
        assert (result.score, result.band) == (score, band)


def test_phq9_prorates_one_missing_item() -> None:
    # 8 answered items summing to 13: 13 / 8 × 9 = 14.625 → 15, which crosses a band edge.
    result = score_phq9([2, 2, 2, 2, 2, 1, 1, 1, None])
    assert (result.score, result.band) == (15, "moderately_severe")


def test_phq9_prorates_two_missing_items_rounding_half_up() -> None:
    # 7 answered items summing to 7: 7 / 7 × 9 = 9 exactly; 14 / 7 × 9 = 18.
    assert score_phq9([1, 1, 1, 1, 1, 1, 1, None, None]).score == 9
    assert score_phq9([2, 2, 2, 2, 2, 2, 2, None, None]).score == 18


def test_gad7_is_never_prorated() -> None:
    # No published GAD-7 rule: one skipped item leaves it unscored.
    assert score_gad7([2, 1, 1, 1, 1, 1, None]).band == "unscored"
    assert score_gad7([2, 1, 1, 1, 1, 1, 1]).score == 8


def test_prorating_rounds_exact_halves_up() -> None:
    # 8 answered items summing to 4: 4 / 8 × 9 = 4.5 → 5 (mild, not minimal).
    result = score_phq9([1, 1, 1, 1, 0, 0, 0, 0, None])
    assert (result.score, result.band) == (5, "mild")
    assert round_half_up(Fraction(9, 2)) == 5
    assert round_half_up(Fraction(7, 2)) == 4


def test_three_missing_items_leave_the_form_unscored() -> None:
    result = score_phq9([3, 3, 3, 3, 3, 3, None, None, None])
    assert (result.score, result.band) == (None, "unscored")
    assert score_gad7([3, 3, 3, 3, None, None, None]).band == "unscored"


def test_without_a_rule_any_missing_item_leaves_a_total_unscored() -> None:
    assert prorated_total([1, None, 2], 3) is None
    assert prorated_total([1, 1, 2], 3) == 4


def test_answers_are_kept_as_given() -> None:
    answers = [0, 1, 2, 3, None, 0, 1, 2, 3]
    assert score_phq9(answers).answers == tuple(answers)


@pytest.mark.parametrize("bad", [[4, 0], [-1, 0]])
def test_out_of_range_item_scores_are_rejected(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="0–3"):
        score_phq2(bad)


def test_wrong_item_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="expected 9 answers"):
        score_phq9([0] * 8)


@pytest.mark.parametrize(
    ("item9", "asked", "needs"),
    [(0, True, False), (1, True, True), (3, True, True), (None, True, True), (None, False, False)],
)
def test_phq_item9_is_flagged_when_endorsed_or_skipped(
    item9: int | None, asked: bool, needs: bool
) -> None:
    assert phq_item9_flagged(item9, asked) is needs


def test_phq_a_answers_are_put_back_in_phq9_order() -> None:
    # Asked in PHQ-A order: down, interest, sleep, appetite, tired, ...
    asked = [3, 1, 0, 2, 0, 0, 0, 0, 1]
    assert phq9_order(asked, "phq_a") == [1, 3, 0, 0, 2, 0, 0, 0, 1]
    assert phq9_order(asked, "phq9") == asked
    assert sorted(PHQA_TO_PHQ9) == list(range(1, 10))
    assert phq9_order(phq9_order(asked, "phq_a"), "phq_a") == asked  # the swap is its own inverse


@pytest.mark.parametrize(
    ("first_four", "q5", "band", "answers"),
    [
        (["no", "no", "no", "no"], None, "negative", (0, 0, 0, 0)),
        (["no", "yes", "no", "no"], "no", "non_acute_positive", (0, 1, 0, 0, 0)),
        (["no", "no", "refuse", "no"], "no", "non_acute_positive", (0, 0, None, 0, 0)),
        (["yes", "no", "no", "no"], "yes", "acute_positive", (1, 0, 0, 0, 1)),
        (["no", "no", "no", "yes"], "refuse", "non_acute_positive", (0, 0, 0, 1, None)),
        (["yes", None, None, None], None, "incomplete_positive", (1, None, None, None, None)),
        # Left part-way after "no" answers: the rest is refused, which NIMH scores positive.
        (["no", "no", None, None], None, "incomplete_positive", (0, 0, None, None, None)),
    ],
)
def test_asq_branches(first_four: list, q5: str | None, band: str, answers: tuple) -> None:
    result = score_asq(first_four, q5)  # type: ignore[arg-type]
    assert (result.instrument, result.band, result.answers) == ("asq", band, answers)
    assert result.score is None


def test_asq_all_no_ignores_q5() -> None:
    assert score_asq(["no"] * 4, "yes").band == "negative"  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("answers", "band"),
    [
        ([0, 0, 0], "well"),
        ([1, 0, 0], "well"),
        ([1, 1, 0], "some_difficulty"),
        ([2, 1, 0], "some_difficulty"),
        ([2, 2, 0], "struggling"),
        ([2, 2, 2], "struggling"),
        ([2, None, None], "unscored"),  # HeartGuard's own check: never prorated
        ([None, None, None], "unscored"),
    ],
)
def test_mood_check_bands(answers: list[int | None], band: str) -> None:
    assert score_mood_check(answers).band == band


@pytest.mark.parametrize(("value", "band"), [(1, "low"), (2, "low"), (3, "okay"), (5, "good")])
def test_mood_bands(value: int, band: str) -> None:
    assert score_mood(value).band == band


def test_event_data_carries_time_and_everything_storage_needs() -> None:
    at = datetime(2025, 3, 7, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    data = score_gad7([1] * 7).checkin_event(at).data
    assert data == {
        "instrument": "gad7",
        "answers": [1] * 7,
        "score": 7,
        "band": "mild",
        "at": "2025-03-07T16:30:00+08:00",
        "form": None,
    }


@given(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=9, max_size=9))
def test_prorating_property(answers: list[int | None]) -> None:
    missing = answers.count(None)
    total = prorated_total(answers, 9, max_missing=2)
    if missing == 0:
        assert total == sum(a for a in answers if a is not None)
    elif missing >= 3:
        assert total is None
    else:
        assert total is not None
        answered = [a for a in answers if a is not None]
        exact = Fraction(sum(answered) * 9, len(answered))
        assert abs(total - exact) <= Fraction(1, 2)
        assert 0 <= total <= 27
