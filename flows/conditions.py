"""The conditions flow files may name in ``if``/``unless`` and ``variants``. All pure."""

from __future__ import annotations

from collections.abc import Mapping

from flows.answers import normalize
from flows.conversation import JSON
from flows.instruments import FREQUENCY, score_gad2, score_phq2
from flows.turn import Condition, Turn

# Enrollment codes are ``XXXXX-XXXXX``; be generous about spacing and dashes but reject
# sentences ("I don't have one") so the student gets help instead of a failed lookup.
_CODE_MIN, _CODE_MAX = 4, 32

# Adults would get the original PHQ-9 wording; every school-age student gets the PHQ-A.
_ADULT_AGE = 18


def item_scores(
    context: Mapping[str, JSON], prefix: str, count: int, scale: Mapping[str, int]
) -> list[int | None]:
    """Scores of items ``<prefix>_1`` … stored in the context; skipped or absent → ``None``."""
    scores: list[int | None] = []
    for number in range(1, count + 1):
        key = context.get(f"{prefix}_{number}")
        scores.append(scale.get(key) if isinstance(key, str) else None)
    return scores


def canonical_code(text: str) -> str:
    """The code as the caller will look it up: letters and digits only, upper case."""
    return "".join(char for char in normalize(text).upper() if char.isalnum())


def code_format_ok(turn: Turn) -> bool:
    """The typed text looks like an enrollment code."""
    raw = normalize(turn.text).replace("-", "").replace(" ", "")
    code = canonical_code(turn.text)
    return _CODE_MIN <= len(code) <= _CODE_MAX and code.isascii() and len(raw) == len(code)


def phq_a_wording(turn: Turn) -> bool:
    """Use the PHQ-A (adolescent) wording: the student is, or may be, under 18."""
    return turn.profile.age is None or turn.profile.age < _ADULT_AGE


def asq_positive(turn: Turn) -> bool:
    """A yes or a refusal on ASQ Q1–4."""
    return any(turn.context.get(f"asq_q{n}") in ("yes", "refuse") for n in range(1, 5))


def has_plan(turn: Turn) -> bool:
    """The student already saved a safety plan."""
    return bool(turn.profile.safety_plan and any(turn.profile.safety_plan.values()))


def _concern(level: str) -> Condition:
    def check(turn: Turn) -> bool:
        return turn.context.get("concern") == level

    check.__doc__ = f"The check-in's overall concern is {level!r}."
    return check


CONDITIONS: Mapping[str, Condition] = {
    "onboarded": lambda turn: turn.profile.onboarded,
    "enrolled": lambda turn: turn.profile.enrolled,
    "anonymous_allowed": lambda turn: turn.profile.anonymous_allowed,
    "restricted": lambda turn: turn.restricted,
    "screen_phq_gad": lambda turn: (
        turn.config.screen_for(turn.profile.grade, turn.profile.age) == "phq_gad"
    ),
    "phq_a_wording": phq_a_wording,
    "phq2_positive": lambda turn: (
        score_phq2(item_scores(turn.context, "phq", 2, FREQUENCY)).band == "positive"
    ),
    "gad2_positive": lambda turn: (
        score_gad2(item_scores(turn.context, "gad", 2, FREQUENCY)).band == "positive"
    ),
    "needs_asq": lambda turn: turn.context.get("needs_asq") is True,
    "concern_refer": _concern("refer"),
    "concern_high": _concern("high"),
    "concern_some": _concern("some"),
    "asq_positive": asq_positive,
    "signal_low": lambda turn: turn.signal.level == "low",
    "signal_high": lambda turn: turn.signal.level in ("high", "imminent"),
    "code_format_ok": code_format_ok,
    "has_plan": has_plan,
}
