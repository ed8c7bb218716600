"""What the risk detector said about a message, as the engine sees it.

The caller builds a :class:`RiskSignal` from the detector's assessment; ``flows`` never imports
the detector. Both speak the shared vocabulary of ``core.vocabulary``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.vocabulary import LEVEL_NAMES, LevelName


@dataclass(frozen=True)
class RiskSignal:
    """The detector's level and categories for the message being handled.

    ``ask`` is the detector's grey zone (``RiskAssessment.ask``): unsure signals, so the
    student is asked the ASQ questions and their own answer decides.
    """

    level: LevelName = "none"
    categories: frozenset[str] = field(default_factory=frozenset)
    ask: bool = False

    def __post_init__(self) -> None:
        if self.level not in LEVEL_NAMES:
            raise ValueError(f"unknown risk level {self.level!r}; expected one of {LEVEL_NAMES}")
        # Accept any iterable from callers but keep the field hashable and immutable.
        object.__setattr__(self, "categories", frozenset(self.categories))

    def rank(self) -> int:
        """Position of the level in ``LEVEL_NAMES`` (none = 0 … imminent = 4)."""
        return LEVEL_NAMES.index(self.level)


NO_SIGNAL = RiskSignal()
