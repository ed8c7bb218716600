"""The conditions flow files may name in ``if``/``unless`` and ``variants``. All pure."""

from __future__ import annotations

from collections.abc import Mapping

from core.vocabulary import Concern
from flows import phrases
from flows.answers import normalize
from flows.conversation import JSON
from flows.effects import Reply
from flows.instruments import FREQUENCY, score_gad2, score_phq2, skipped
from flows.triage import concerns
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


# Categories that name a way to die: the reply helps put the means (or the place) away.
MEANS_CATEGORIES = frozenset({"means_method", "plan", "attempt", "location"})
# Categories of having already done something (taken pills, cut): an ambulance comes first.
HURT_CATEGORIES = frozenset({"attempt"})


def asq_positive(turn: Turn) -> bool:
    """A yes or a refusal on ASQ Q1–4 (an unanswered question counts as refused)."""
    return any(turn.context.get(f"asq_q{n}") != "no" for n in range(1, 5))


def asq_item(turn: Turn) -> str:
    """The context key of the ASQ question being answered: the state name ends in its number."""
    return f"asq_q{turn.state[-1]}"


def asq_unclear_once(turn: Turn) -> bool:
    """Free text that is not a clear answer, the first time at this question."""
    if turn.answer != "_text" or phrases.leans_yes(turn.text):
        return False
    return turn.context.get(f"_unclear_{asq_item(turn)}") is not True


def full_form(prefix: str) -> Condition:
    """The 2-item screen is positive, or an item was skipped (the full form decides)."""

    def check(turn: Turn) -> bool:
        items = item_scores(turn.context, prefix, 2, FREQUENCY)
        score = score_phq2(items) if prefix == "phq" else score_gad2(items)
        return score.band == "positive" or skipped(items)

    check.__doc__ = f"{prefix.upper()}-2 positive or skipped: go on to the full form."
    return check


def crisis_this_step(turn: Turn) -> bool:
    """A crisis text was sent in this step (so no survey is offered right after it)."""
    return any(isinstance(e, Reply) and e.text_id.startswith("crisis.") for e in turn.effects)


def disclosure_peer(turn: Turn) -> bool:
    """The disclosure being listened to is about a friend."""
    return turn.context.get("disclosure") == Concern.PEER.value


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
    "phq_full_form": full_form("phq"),
    "gad_full_form": full_form("gad"),
    "asq_at_checkin": lambda turn: (
        turn.config.asks_asq_at_checkin(turn.profile.grade, turn.profile.age)
        or turn.context.get("needs_asq") is True
    ),
    "asq_acute": lambda turn: turn.context.get("asq_band") == "acute_positive",
    "asq_non_acute": lambda turn: (
        turn.context.get("asq_band")
        in (
            "non_acute_positive",
            "incomplete_positive",
        )
    ),
    "item9_flagged": lambda turn: turn.context.get("item9_flagged") is True,
    "concern_refer": _concern("refer"),
    "concern_high": _concern("high"),
    "concern_some": _concern("some"),
    "concern_unclear": _concern("unclear"),
    "asq_positive": asq_positive,
    "asq_unclear_once": asq_unclear_once,
    "leans_yes": lambda turn: turn.answer == "_text" and phrases.leans_yes(turn.text),
    "asks_secrecy": lambda turn: turn.answer == "_text" and phrases.asks_secrecy(turn.text),
    "means_named": lambda turn: bool(turn.signal.categories & MEANS_CATEGORIES),
    "took_something": lambda turn: bool(turn.signal.categories & HURT_CATEGORIES),
    "cared": lambda turn: turn.cared,
    "crisis_this_step": crisis_this_step,
    "disclosure_peer": disclosure_peer,
    "follow_up_signal": lambda turn: bool(
        concerns(turn.signal) & {Concern.SAFEGUARDING, Concern.PEER, Concern.OTHERS}
    ),
    "signal_low": lambda turn: turn.signal.level == "low",
    "signal_high": lambda turn: turn.signal.level in ("high", "imminent"),
    "code_format_ok": code_format_ok,
    "has_plan": has_plan,
}
