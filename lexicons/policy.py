"""The combination policy: how the lexicon, the window, the model and the suppressors make one
verdict. All of it is here, in this order:

1. The lexicon's rules and the cross-message rules set the level. They alone can say
   imminent: an emergency pages every tier, and it must always be explainable by a rule.
2. A suppressor (a news, fiction or school frame; a denial; a hypothetical) stops the model
   from raising anything: the lexicon's rules already read these. Someone else's words
   reported may still be raised, as a peer report about that person.
3. The model raises a message to high when both its heads are confident (of high, and so of
   at least moderate), or when the evidence of
   the conversation's last few messages adds up (the current one among them); to moderate
   when it is confident of at least moderate. It never lowers a level.
4. Below high, a grey-zone signal sets ``ask``: the model in its unsure band, ambivalence,
   hopelessness or a burden beside distress. The bot then asks the ASQ questions and the
   student's own answer decides.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from core.vocabulary import RiskLevel
from lexicons.model import Thresholds

# Categories that say the student's own risk is unclear, not absent.
# Below high, active ideation is there only hedged or joking ("kms lol"): unclear too.
_GREY = frozenset({
    "ambivalence", "hopelessness", "burden", "passive_ideation", "self_harm", "active_ideation",
})  # fmt: skip


@dataclass(frozen=True)
class Opinion:
    """The model's probabilities for one message, and the evidence recent messages add up to
    (log-odds above the prior, summed over the conversation's last few messages)."""

    moderate: float
    high: float
    accumulated: float = 0.0


@dataclass(frozen=True)
class Verdict:
    """The level, the rule of this policy that decided it, and the grey-zone flag."""

    level: RiskLevel
    rule: str
    ask: bool

    @property
    def by_model(self) -> bool:
        """Whether the model raised the level."""
        return self.rule in ("model_high", "model_moderate", "model_conversation", "model_peer")


def _high(opinion: Opinion, thresholds: Thresholds) -> bool:
    """Confident of high, and so of at least moderate too: the two heads must agree."""
    return opinion.high >= thresholds.high and opinion.moderate >= thresholds.moderate


def decide(
    lexicon: RiskLevel,
    window: RiskLevel,
    categories: Collection[str],
    opinion: Opinion,
    thresholds: Thresholds,
    suppressor: Callable[[], str | None],
) -> Verdict:
    """One verdict from the lexicon's level, the window's, the model's and the suppressors.

    ``suppressor`` is asked only when the model would raise the level or ask.
    """
    level = max(lexicon, window)
    rule = "window" if window > lexicon else "lexicon"
    grey = level < RiskLevel.HIGH and bool(_GREY.intersection(categories))
    wants = (
        (_high(opinion, thresholds) and level < RiskLevel.HIGH)
        or (opinion.accumulated >= thresholds.conversation and level < RiskLevel.HIGH)
        or (
            opinion.moderate >= min(thresholds.ask, thresholds.moderate)
            and level < RiskLevel.MODERATE
        )
    )
    if not wants:
        return Verdict(level, rule, grey)
    blocked = suppressor()
    if (
        blocked == "reported_speech"
        and level < RiskLevel.MODERATE  # a peer report the rules read already stands
        and opinion.moderate >= thresholds.moderate
    ):
        # "My classmate says he has saved up pills": someone else's danger, which the model
        # may still raise, as a peer report (a case about the friend, not the student's crisis).
        peer = RiskLevel.HIGH if _high(opinion, thresholds) else RiskLevel.MODERATE
        if peer > level:
            return Verdict(peer, "model_peer", False)
    if blocked is not None:
        return Verdict(
            level, rule if level >= RiskLevel.MODERATE else f"suppressed:{blocked}", grey
        )
    if _high(opinion, thresholds) and level < RiskLevel.HIGH:
        return Verdict(RiskLevel.HIGH, "model_high", False)
    if opinion.accumulated >= thresholds.conversation and level < RiskLevel.HIGH:
        return Verdict(RiskLevel.HIGH, "model_conversation", False)
    if opinion.moderate >= thresholds.moderate and level < RiskLevel.MODERATE:
        return Verdict(RiskLevel.MODERATE, "model_moderate", grey)
    return Verdict(level, rule, True)  # the model is unsure: ask
