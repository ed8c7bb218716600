"""Suicide pacts: dying together, or looking for someone to die with (约死, "anyone want to go
together"). A "together" next to a way to die (一起跳, jump together), or beside a wish to die
or lethal means, makes a pact; at the place, or now, it is under way.
"""

from __future__ import annotations

from lexicons.matching import Hit
from lexicons.rules import HIGH, IDEATION, IMMINENT, MODERATE, Finding, Message, framed

_DEATHLY = ("death", "vanish", "jump")
_WAYS = frozenset({"means_method", "location", "attempt", "plan"})


def _serious(hit: Hit) -> bool:
    level = hit.level
    if level is None:
        return False
    if hit.category in IDEATION or hit.category == "suicide_pact":
        return level >= MODERATE
    return hit.category in _WAYS and level >= HIGH


def pact_rules(msg: Message) -> list[Finding]:
    """A wish or a way to die, said together with someone."""
    for together in msg.cues.get("together", ()):
        if framed(msg, together) is not None:
            continue
        way = next((c for k in _DEATHLY if (c := msg.near(together, k, 3)) is not None), None)
        risky = next(
            (h for h in msg.risks if _serious(h) and abs(h.clause - together.clause) <= 1), None
        )
        anchor = way or risky
        if anchor is None:
            continue
        now = msg.has("timing_now") or (risky is not None and risky.category == "location")
        level = IMMINENT if now and risky is not None else HIGH
        return [Finding(level, "suicide_pact", "pact", (together, anchor))]
    return []
