"""The risk vocabulary: levels, the categories the detector speaks in, and what each means.

The detector (``lexicons``) emits these levels and categories; the flows (``flows.triage``)
decide what to do from the category's :class:`Concern`. Both import them from here, so the
two can never disagree about what a category is.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

LevelName = Literal["none", "low", "moderate", "high", "imminent"]
LEVEL_NAMES: tuple[LevelName, ...] = get_args(LevelName)


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
    def label(self) -> LevelName:
        """Lower-case name, as stored, printed and read by the flows."""
        return LEVEL_NAMES[self.value]


class Concern(enum.StrEnum):
    """What a risk category means to the conversation at moderate level.

    High and imminent signals go to the crisis flow whatever their category; below that the
    concern decides: screen with the ASQ, open a routine case, or answer kindly.
    """

    # The student's own life and death: the ASQ asks, and the student's answer decides.
    SUICIDALITY = "suicidality"
    # Someone hurts or threatens the student: a counselor follows up.
    SAFEGUARDING = "safeguarding"
    # A friend may be in danger: a counselor follows up about the friend.
    PEER = "peer"
    # The student may hurt someone else: a counselor follows up.
    OTHERS = "others"
    # Disordered eating (purging, laxatives, starving): a counselor follows up; the student's
    # body is at risk, so it is never only a kind reply.
    EATING = "eating"
    # Everyday distress: a kind reply; at moderate (with nothing else) the ASQ asks.
    DISTRESS = "distress"


CATEGORIES: Mapping[str, Concern] = MappingProxyType(
    {
        "passive_ideation": Concern.SUICIDALITY,
        "active_ideation": Concern.SUICIDALITY,
        "plan": Concern.SUICIDALITY,
        "means_method": Concern.SUICIDALITY,
        "attempt": Concern.SUICIDALITY,
        "location": Concern.SUICIDALITY,
        "farewell": Concern.SUICIDALITY,
        "self_harm": Concern.SUICIDALITY,
        "past_attempt": Concern.SUICIDALITY,
        "hopelessness": Concern.SUICIDALITY,
        "burden": Concern.SUICIDALITY,
        "isolation": Concern.SUICIDALITY,
        "ambivalence": Concern.SUICIDALITY,
        # Dying together with someone (约死, "anyone want to go together"): the student's own
        # life, and someone else's too.
        "suicide_pact": Concern.SUICIDALITY,
        "bullying": Concern.SAFEGUARDING,
        "abuse": Concern.SAFEGUARDING,
        "grooming": Concern.SAFEGUARDING,
        "sexual_abuse": Concern.SAFEGUARDING,
        "peer_concern": Concern.PEER,
        "violence_to_others": Concern.OTHERS,
        "eating_disorder": Concern.EATING,
        "distress": Concern.DISTRESS,
    }
)
RISK_CATEGORIES = frozenset(CATEGORIES)


def concerned(concern: Concern) -> frozenset[str]:
    """Every category with this concern."""
    return frozenset(c for c, m in CATEGORIES.items() if m is concern)


SUICIDALITY = concerned(Concern.SUICIDALITY)
SAFEGUARDING = concerned(Concern.SAFEGUARDING)
# About the student's own life and death: person, negation and framing rules apply. Ambivalence
# is the one suicidality category that is already a negation ("I don't want to die, but").
SELF_DIRECTED = SUICIDALITY - {"ambivalence"}

# How fast a person must act on a case: the flows request one, the green channel works it.
Priority = Literal["routine", "urgent", "emergency"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
