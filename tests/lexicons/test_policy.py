"""The combination policy, one row per rule: the lexicon rules for imminent, the model raises
when confident, suppressors stop it, the grey zone asks."""

from __future__ import annotations

import pytest

from core.vocabulary import RiskLevel
from lexicons.model import Thresholds
from lexicons.policy import Opinion, decide

N, L, M, H = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH
IMM = RiskLevel.IMMINENT
LIMITS = Thresholds(moderate=0.8, high=0.8, ask=0.5, conversation=5.0)
CALM, UNSURE, WORRIED, SURE = (
    Opinion(0.1, 0.1),
    Opinion(0.6, 0.2),
    Opinion(0.9, 0.3),
    Opinion(0.95, 0.9),
)


@pytest.mark.parametrize(
    ("lexicon", "window", "categories", "opinion", "blocked", "level", "rule", "ask"),
    [
        (IMM, N, {"attempt"}, CALM, None, IMM, "lexicon", False),  # the rules alone say imminent
        (L, IMM, {"distress"}, CALM, None, IMM, "window", False),
        (N, N, set(), SURE, None, H, "model_high", False),  # never above high
        (M, N, {"passive_ideation"}, SURE, None, H, "model_high", False),
        (IMM, N, {"plan"}, SURE, None, IMM, "lexicon", False),  # the model never lowers
        (N, N, set(), WORRIED, None, M, "model_moderate", False),
        (L, N, {"distress"}, UNSURE, None, L, "lexicon", True),  # unsure: ask
        (N, N, set(), SURE, "news", N, "suppressed:news", False),  # a news story stays a story
        (N, N, set(), SURE, "reported_speech", H, "model_peer", False),  # the friend's danger
        (N, N, set(), UNSURE, "reported_speech", N, "suppressed:reported_speech", False),
        (M, N, {"ambivalence"}, CALM, None, M, "lexicon", True),  # grey categories ask
        (L, N, {"hopelessness"}, SURE, "fiction", L, "suppressed:fiction", True),
        (N, N, set(), Opinion(0.6, 0.5, 6.0), None, H, "model_conversation", False),
        (H, N, {"active_ideation"}, UNSURE, None, H, "lexicon", False),  # high: no question
    ],
)
def test_one_verdict(
    lexicon: RiskLevel,
    window: RiskLevel,
    categories: set[str],
    opinion: Opinion,
    blocked: str | None,
    level: RiskLevel,
    rule: str,
    ask: bool,
) -> None:
    verdict = decide(lexicon, window, categories, opinion, LIMITS, lambda: blocked)
    assert (verdict.level, verdict.rule, verdict.ask) == (level, rule, ask)


def test_the_suppressor_is_asked_only_when_the_model_would_act() -> None:
    asked: list[bool] = []

    def blocked() -> str | None:
        asked.append(True)
        return None

    decide(L, N, {"distress"}, CALM, LIMITS, blocked)
    assert asked == []
    decide(N, N, set(), SURE, LIMITS, blocked)
    assert asked == [True]


def test_the_model_raises_to_moderate_even_without_an_ask_band() -> None:
    limits = Thresholds(moderate=0.8, high=0.9, ask=1.01)
    verdict = decide(N, N, set(), WORRIED, limits, lambda: None)
    assert (verdict.level, verdict.rule) == (M, "model_moderate")
