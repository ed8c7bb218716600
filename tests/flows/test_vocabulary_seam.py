"""The seam between the detector and the flows: one vocabulary, and every category acts."""

from __future__ import annotations

import pytest

from core.vocabulary import CATEGORIES, LEVEL_NAMES, RISK_CATEGORIES, Concern, RiskLevel
from flows.definition import ASQ, CRISIS
from flows.signals import RiskSignal
from flows.triage import NOTHING, decide
from lexicons.cues import RULE_ONLY
from lexicons.detector import default_detector


def test_the_detector_speaks_only_the_shared_vocabulary() -> None:
    lexicon = default_detector().lexicon
    emitted = {e.category for e in lexicon.entries if e.level is not None} | RULE_ONLY
    assert emitted <= RISK_CATEGORIES
    assert [level.label for level in RiskLevel] == list(LEVEL_NAMES)


@pytest.mark.parametrize("category", sorted(RISK_CATEGORIES))
@pytest.mark.parametrize("level", ["moderate", "high", "imminent"])
def test_every_category_at_every_level_leads_to_an_action(category: str, level: str) -> None:
    decision = decide(RiskSignal(level, {category}), None, {})  # type: ignore[arg-type]
    assert decision != NOTHING
    if level != "moderate":
        assert decision.flow == CRISIS
        assert decision.case is not None
    elif CATEGORIES[category] in (Concern.SUICIDALITY, Concern.DISTRESS):
        assert decision.flow == ASQ  # the student's own answer decides
    else:
        assert decision.case == ("routine", decision.case[1]) if decision.case else False
        assert decision.care_text is not None


def test_ambivalence_is_screened() -> None:
    """我不想死，可是好痛苦: moderate ambivalence gets the ASQ, not the language question."""
    assessment = default_detector().assess("我不想死，可是好痛苦")
    assert "ambivalence" in assessment.categories
    signal = RiskSignal(assessment.level.label, frozenset(assessment.categories))
    assert decide(signal, None, {}).flow == ASQ


@pytest.mark.parametrize("level", ["none", "low"])
def test_below_moderate_changes_nothing(level: str) -> None:
    assert decide(RiskSignal(level, RISK_CATEGORIES), None, {}) == NOTHING  # type: ignore[arg-type]


def test_every_flow_event_has_a_handler() -> None:
    """A new event type without a handler stops the runtime from being built."""
    from bot.services.flow_effects import HANDLERS, check_handlers
    from flows import EVENT_TYPES

    check_handlers()
    assert set(HANDLERS) == set(EVENT_TYPES)
    partial = {t: h for t, h in HANDLERS.items() if t.__name__ != "CaseRequested"}
    with pytest.raises(RuntimeError, match="CaseRequested"):
        check_handlers(partial)
