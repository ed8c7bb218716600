"""What the risk detector said about a message, as the engine sees it.

The caller builds a :class:`RiskSignal` from the detector's assessment; ``flows`` never imports
the detector, so the two packages stay independent and pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

RiskLevel = Literal["none", "low", "moderate", "high", "imminent"]
LEVELS: tuple[RiskLevel, ...] = get_args(RiskLevel)

# Categories that make a moderate signal a reason to screen with the ASQ. The detector's
# plan/means/attempt/location/farewell categories are included too: they rarely come at
# moderate, but when they do, screening is the safe reading.
SUICIDALITY = frozenset(
    {
        "passive_ideation",
        "active_ideation",
        "hopelessness",
        "burden",
        "self_harm",
        "past_attempt",
        "isolation",
        "plan",
        "means_method",
        "attempt",
        "location",
        "farewell",
    }
)

# Categories that call for a counselor's attention without interrupting the student.
SAFEGUARDING = frozenset({"bullying", "abuse", "grooming", "peer_concern", "violence_to_others"})


@dataclass(frozen=True)
class RiskSignal:
    """The detector's level and categories for the message being handled."""

    level: RiskLevel = "none"
    categories: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown risk level {self.level!r}; expected one of {LEVELS}")
        # Accept any iterable from callers but keep the field hashable and immutable.
        object.__setattr__(self, "categories", frozenset(self.categories))

    def rank(self) -> int:
        """Position of the level in ``LEVELS`` (none = 0 … imminent = 4)."""
        return LEVELS.index(self.level)


NO_SIGNAL = RiskSignal()
