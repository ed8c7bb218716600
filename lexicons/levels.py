"""Risk levels and the categories the detector speaks in."""

from __future__ import annotations

import enum


class RiskLevel(enum.IntEnum):
    """The five levels of DESIGN.md §3, ordered so ``max`` picks the most serious."""

    NONE = 0
    LOW = 1
    MODERATE = 2
    HIGH = 3
    IMMINENT = 4

    @classmethod
    def parse(cls, name: str) -> RiskLevel:
        """Level from its lower-case name."""
        return cls[name.strip().upper()]

    @property
    def label(self) -> str:
        """Lower-case name, as stored and printed."""
        return self.name.lower()


# Signals in themselves: an entry of one of these carries a level.
RISK_CATEGORIES = frozenset({
    "passive_ideation", "active_ideation", "plan", "means_method", "attempt", "location",
    "farewell", "self_harm", "past_attempt", "hopelessness", "burden", "isolation", "bullying",
    "abuse", "grooming", "violence_to_others", "peer_concern", "distress",
})  # fmt: skip

# Context for the rules; entries carry level "-".
CUE_CATEGORIES = frozenset({
    "desire", "death", "life", "negation", "hedge", "sincerity", "joke", "first_person",
    "third_person", "timing_now", "timing_soon", "timing_recent", "timing_past", "completion",
    "quantity", "question", "fiction", "news", "academic", "hypothetical", "contrast",
    "degree_head", "second_person", "instigation", "accumulate", "preparation", "vanish",
    "futility", "better_off", "conditional", "resolve", "harm_act", "body_part", "jump",
    "symptom", "outcome", "hostile_act", "peer_agent", "family_agent", "adult_agent", "secrecy",
    "photo_request", "meet_request", "gift", "revenge", "rumination", "method_word",
    "acquire", "edge", "height",
})  # fmt: skip

# A hit inside one of these spans is ignored.
SUPPRESSOR_CATEGORIES = frozenset({"idiom", "collision"})

ALL_CATEGORIES = RISK_CATEGORIES | CUE_CATEGORIES | SUPPRESSOR_CATEGORIES

# Categories about the student's own life and death: person, negation and framing apply.
SELF_DIRECTED = frozenset({
    "passive_ideation", "active_ideation", "plan", "means_method", "attempt", "location",
    "farewell", "self_harm", "past_attempt", "hopelessness", "burden", "isolation",
})  # fmt: skip
SUICIDALITY = frozenset({
    "passive_ideation", "active_ideation", "plan", "means_method", "attempt", "location",
    "farewell", "self_harm", "past_attempt", "hopelessness", "burden", "isolation", "ambivalence",
})  # fmt: skip
SAFEGUARDING = frozenset({"bullying", "abuse", "grooming", "violence_to_others", "peer_concern"})
