"""The seam between the detector and the flows: one vocabulary, and every category acts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.vocabulary import CATEGORIES, LEVEL_NAMES, RISK_CATEGORIES, Concern, RiskLevel
from flows import texts
from flows.config import FlowConfig
from flows.definition import ASQ, CRISIS
from flows.profile import StudentProfile
from flows.signals import RiskSignal
from flows.triage import NOTHING, decide, screen_due
from lexicons.cues import RULE_ONLY
from lexicons.detector import default_detector

# Concerns about someone else's danger, or the body's: never the student's own crisis flow.
NOT_OWN = (Concern.PEER, Concern.OTHERS, Concern.EATING)


def test_the_detector_speaks_only_the_shared_vocabulary() -> None:
    lexicon = default_detector().lexicon
    emitted = {e.category for e in lexicon.entries if e.level is not None} | RULE_ONLY
    assert emitted <= RISK_CATEGORIES
    assert set(default_detector().model.categories) <= RISK_CATEGORIES  # type: ignore[union-attr]
    assert [level.label for level in RiskLevel] == list(LEVEL_NAMES)


@pytest.mark.parametrize("category", sorted(RISK_CATEGORIES))
@pytest.mark.parametrize("level", ["moderate", "high", "imminent"])
def test_every_category_at_every_level_leads_to_an_action(category: str, level: str) -> None:
    decision = decide(RiskSignal(level, {category}), None, {})  # type: ignore[arg-type]
    assert decision != NOTHING
    concern = CATEGORIES[category]
    if level != "moderate":
        assert decision.case is not None
        assert decision.case[0] == ("urgent" if level == "high" else "emergency")
        if concern in NOT_OWN:
            assert decision.flow is None  # the friend's danger is not the student's crisis
            assert decision.care_text is not None
        else:
            assert decision.flow == CRISIS
    elif concern in (Concern.SUICIDALITY, Concern.DISTRESS):
        assert decision.flow == ASQ  # the student's own answer decides
    else:
        assert decision.case == ("routine", decision.case[1]) if decision.case else False
        assert decision.care_text is not None


@pytest.mark.parametrize(
    ("categories", "level", "reason", "care"),
    [
        ({"peer_concern", "distress"}, "imminent", "peer_concern", texts.CARE_PEER_URGENT),
        ({"peer_concern"}, "moderate", "peer_concern", texts.CARE_PEER),
        ({"sexual_abuse"}, "moderate", "sexual_abuse", texts.CARE_SEXUAL_ABUSE),
        ({"eating_disorder"}, "high", "eating_disorder", texts.CARE_EATING_URGENT),
        ({"violence_to_others"}, "high", "harm_to_others", texts.CARE_OTHERS_URGENT),
        ({"suicide_pact"}, "high", "suicide_pact", texts.CARE_PACT),
    ],
)
def test_each_new_category_has_its_own_consequence(
    categories: set[str], level: str, reason: str, care: str
) -> None:
    decision = decide(RiskSignal(level, categories), None, {})  # type: ignore[arg-type]
    assert decision.case is not None
    assert decision.case[1] == reason
    assert decision.care_text == care


def test_a_friend_in_danger_and_the_student_too_is_the_students_crisis() -> None:
    decision = decide(RiskSignal("high", {"peer_concern", "active_ideation"}), None, {})
    assert decision.flow == CRISIS


def test_ambivalence_is_screened() -> None:
    """我不想死，可是好痛苦: moderate ambivalence gets the ASQ, not the language question."""
    assessment = default_detector().assess("我不想死，可是好痛苦")
    assert "ambivalence" in assessment.categories
    signal = RiskSignal(assessment.level.label, frozenset(assessment.categories))
    assert decide(signal, None, {}).flow == ASQ


@pytest.mark.parametrize("level", ["none", "low"])
def test_below_moderate_changes_nothing(level: str) -> None:
    assert decide(RiskSignal(level, RISK_CATEGORIES), None, {}) == NOTHING  # type: ignore[arg-type]


@pytest.mark.parametrize("level", ["none", "low"])
def test_a_grey_zone_signal_asks_unless_screened_recently(level: str) -> None:
    signal = RiskSignal(level, {"distress"}, ask=True)  # type: ignore[arg-type]
    assert decide(signal, None, {}).flow == ASQ
    assert decide(signal, None, {}, screen_due=False) == NOTHING
    assert decide(signal, ASQ, {}) == NOTHING  # already asking


def test_a_grey_zone_beside_bullying_also_asks() -> None:
    signal = RiskSignal("moderate", {"bullying"}, ask=True)
    decision = decide(signal, None, {})
    assert decision.flow == ASQ
    assert decision.case == ("routine", "safeguarding")
    assert decide(signal, None, {}, screen_due=False).flow is None


def test_screens_are_rate_limited_per_student() -> None:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    interval = FlowConfig().screen_interval
    assert interval == timedelta(days=3)
    assert screen_due(StudentProfile(), now, interval)
    assert not screen_due(StudentProfile(last_screened_at=now - timedelta(days=1)), now, interval)
    assert screen_due(StudentProfile(last_screened_at=now - timedelta(days=3)), now, interval)


def test_every_flow_event_has_a_handler() -> None:
    """A new event type without a handler stops the runtime from being built."""
    from bot.services.flow_effects import HANDLERS, check_handlers
    from flows import EVENT_TYPES

    check_handlers()
    assert set(HANDLERS) == set(EVENT_TYPES)
    partial = {t: h for t, h in HANDLERS.items() if t.__name__ != "CaseRequested"}
    with pytest.raises(RuntimeError, match="CaseRequested"):
        check_handlers(partial)


@pytest.mark.parametrize("level", ["none", "low"])
def test_an_unsure_signal_waits_for_a_newcomer_and_for_a_plea_for_secrecy(level: str) -> None:
    signal = RiskSignal(level, {"distress"}, ask=True)  # type: ignore[arg-type]
    assert decide(signal, None, {}, newcomer=True) == NOTHING
    assert decide(signal, None, {}, secrecy=True) == NOTHING
    beside = RiskSignal("moderate", {"bullying"}, ask=True)
    assert decide(beside, None, {}, newcomer=True).flow is None
    assert decide(beside, None, {}, newcomer=True).case == ("routine", "safeguarding")


@pytest.mark.parametrize("category", ["distress", "passive_ideation", "ambivalence"])
def test_a_moderate_signal_of_the_students_own_safety_never_waits(category: str) -> None:
    signal = RiskSignal("moderate", {category}, ask=True)
    assert decide(signal, None, {}, newcomer=True, secrecy=True).flow == ASQ
    urgent = RiskSignal("high", {category})
    assert decide(urgent, None, {}, newcomer=True, secrecy=True).flow == CRISIS
