"""Scoring of the screening instruments, exactly as published. Pure functions.

Sources and HeartGuard's departures from them: ``docs/instruments.md``.

- PHQ-2 / PHQ-9 (and PHQ-A, scored the same) and GAD-2 / GAD-7: items 0–3, summed.
  PHQ-9 bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe;
  GAD-7 bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe; PHQ-2 / GAD-2 ≥ 3 positive.
- Missing items: only the PHQ-9 has a published rule (at most 2 missing: the mean of the
  answered items × 9, rounded to the nearest whole number). Every other form with a skipped
  item is unscored, and a 2-item screen with a skip leads to its full form instead.
- Item order: answers are kept in the PHQ-9's canonical order whatever the wording. The PHQ-A
  asks items 1↔2 and 4↔5 the other way round; :func:`phq9_order` puts them back.
- PHQ item 9 (thoughts of being better off dead or of self-harm) ≥ 1, or skipped, always
  reaches a person: not answering is not an all-clear.
- ASQ (NIMH): a yes or a refusal on Q1–4 is a positive screen; then Q5 yes is an acute
  positive, Q5 no a non-acute positive. A refused Q5 is handled as non-acute positive (an
  urgent case, so a counselor assesses acuity in person). An ASQ left before Q1–4 are all
  answered is a refusal, so a positive screen (``incomplete_positive``).
- The mood check for grades 3–6 is HeartGuard's own three-item well-being check (0–2 per
  item), not a validated instrument: it only decides how warmly to offer a counselor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

from flows.effects import CheckinCompleted, ScreenCompleted

UNSCORED = "unscored"

FREQUENCY = {"not_at_all": 0, "several_days": 1, "more_than_half": 2, "nearly_every_day": 3}
MOOD_CHECK_SCALE = {"never": 0, "sometimes": 1, "often": 2}
MOOD_SCALE = {f"mood_{n}": n for n in range(1, 6)}

PHQ9_BANDS = ((20, "severe"), (15, "moderately_severe"), (10, "moderate"), (5, "mild"))
GAD7_BANDS = ((15, "severe"), (10, "moderate"), (5, "mild"))
SCREEN_BANDS = ((3, "positive"),)
MOOD_CHECK_BANDS = ((4, "struggling"), (2, "some_difficulty"))
MOOD_BANDS = ((4, "good"), (3, "okay"))

AsqAnswer = Literal["yes", "no", "refuse"]


@dataclass(frozen=True)
class Score:
    """One instrument's result.

    Attributes:
        instrument: ``phq2``, ``phq9``, ``gad2``, ``gad7``, ``mood``, ``mood_check`` or ``asq``.
        answers: Item scores in order; ``None`` is a skipped (or, for the ASQ, refused) item.
        score: The (possibly prorated) total, or ``None`` when unscored.
        band: The severity band, ``positive``/``negative`` for screens, or ``unscored``.
    """

    instrument: str
    answers: tuple[int | None, ...]
    score: int | None
    band: str

    def checkin_event(self, at: datetime, form: str | None = None) -> CheckinCompleted:
        """This score as one instrument of a check-in."""
        return CheckinCompleted(self.instrument, self.answers, self.score, self.band, at, form)

    def screen_event(self, at: datetime) -> ScreenCompleted:
        """This score as a finished (or left, positive) screen."""
        return ScreenCompleted(self.instrument, self.answers, self.score, self.band, at)


def round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero (for non-negative values)."""
    return math.floor(value + Fraction(1, 2))


def prorated_total(
    answers: Sequence[int | None], item_count: int, max_missing: int = 0
) -> int | None:
    """The total, prorated for up to ``max_missing`` skipped items; else ``None`` if any is."""
    if len(answers) != item_count:
        raise ValueError(f"expected {item_count} answers, got {len(answers)}")
    answered = [a for a in answers if a is not None]
    missing = item_count - len(answered)
    if missing == 0:
        return sum(answered)
    if missing > max_missing or not answered:
        return None
    return round_half_up(Fraction(sum(answered) * item_count, len(answered)))


# The PHQ-9 missing-item rule (Kroenke et al.): at most two items, prorated and rounded.
PHQ9_MAX_MISSING = 2
# PHQ-A item n (1-based) asks PHQ-9 item PHQA_TO_PHQ9[n - 1].
PHQA_TO_PHQ9 = (2, 1, 3, 5, 4, 6, 7, 8, 9)


def phq9_order(answers: Sequence[int | None], form: str) -> list[int | None]:
    """Answers as asked in ``form`` (``phq9`` or ``phq_a``), put in the PHQ-9's item order."""
    if form != "phq_a":
        return list(answers)
    ordered: list[int | None] = [None] * len(answers)
    for asked, item in enumerate(PHQA_TO_PHQ9[: len(answers)]):
        ordered[item - 1] = answers[asked]
    return ordered


def _band(score: int | None, bands: tuple[tuple[int, str], ...], lowest: str) -> str:
    if score is None:
        return UNSCORED
    for floor, name in bands:
        if score >= floor:
            return name
    return lowest


def _sum_form(
    instrument: str,
    answers: Sequence[int | None],
    items: int,
    top: int,
    bands: tuple[tuple[int, str], ...],
    lowest: str,
    max_missing: int = 0,
) -> Score:
    if any(a is not None and not 0 <= a <= top for a in answers):
        raise ValueError(f"{instrument}: item scores must be 0–{top}")
    total = prorated_total(answers, items, max_missing)
    return Score(instrument, tuple(answers), total, _band(total, bands, lowest))


def score_phq2(answers: Sequence[int | None]) -> Score:
    """PHQ-2: items 1–2 of the PHQ-9 (no proration: a skip leaves it unscored)."""
    return _sum_form("phq2", answers, 2, 3, SCREEN_BANDS, "negative")


def score_phq9(answers: Sequence[int | None]) -> Score:
    """PHQ-9 (or PHQ-A, in PHQ-9 order): nine items, up to two missing prorated."""
    return _sum_form("phq9", answers, 9, 3, PHQ9_BANDS, "minimal", PHQ9_MAX_MISSING)


def score_gad2(answers: Sequence[int | None]) -> Score:
    """GAD-2: items 1–2 of the GAD-7."""
    return _sum_form("gad2", answers, 2, 3, SCREEN_BANDS, "negative")


def score_gad7(answers: Sequence[int | None]) -> Score:
    """GAD-7: seven items."""
    return _sum_form("gad7", answers, 7, 3, GAD7_BANDS, "minimal")


def score_mood_check(answers: Sequence[int | None]) -> Score:
    """The grades 3–6 well-being check: three items, 0–2 each."""
    return _sum_form("mood_check", answers, 3, 2, MOOD_CHECK_BANDS, "well")


def score_mood(value: int | None) -> Score:
    """The 1–5 mood question that opens every check-in."""
    if value is not None and not 1 <= value <= 5:
        raise ValueError("mood must be 1–5")
    return Score("mood", (value,), value, _band(value, MOOD_BANDS, "low"))


def phq_item9_flagged(item9: int | None, asked: bool) -> bool:
    """Whether PHQ item 9 must reach a person: any endorsement, or skipped when asked."""
    return asked and (item9 is None or item9 >= 1)


def skipped(answers: Sequence[int | None]) -> bool:
    """Whether any item of a form was skipped."""
    return any(a is None for a in answers)


def score_asq(first_four: Sequence[AsqAnswer | None], q5: AsqAnswer | None) -> Score:
    """ASQ: Q1–4, then the acuity question Q5 when the screen is positive.

    Answers are recorded as 1 (yes), 0 (no) or ``None`` (refused or not asked). The band is
    ``negative``, ``non_acute_positive``, ``acute_positive``, or ``incomplete_positive`` when
    the screen was left before it was finished. A question never answered (``None``) counts
    as refused: NIMH counts a refusal as a positive screen.
    """
    if len(first_four) != 4:
        raise ValueError("ASQ: expected answers to Q1–4")
    positive = any(a != "no" for a in first_four)
    coded = [_asq_code(a) for a in first_four]
    if not positive:
        return Score("asq", tuple(coded), None, "negative")
    coded.append(_asq_code(q5))
    if q5 == "yes":
        band = "acute_positive"
    elif q5 is None or None in first_four:
        band = "incomplete_positive"
    else:
        band = "non_acute_positive"
    return Score("asq", tuple(coded), None, band)


def _asq_code(answer: AsqAnswer | None) -> int | None:
    return {"yes": 1, "no": 0}.get(answer or "")
