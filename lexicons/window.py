"""Across messages: the cue classes a message contributes, and the rules that combine them.

A message is reduced to marks (kinds of cue with their spans). The rules below combine the
marks still alive in the conversation with the current message's. A combination counts for
the current message only when the current message takes part in it: what earlier messages
made together was judged when the later of them arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from core.vocabulary import RiskLevel
from lexicons.analysis import Analysis, Part
from lexicons.conversation import MAX_MARKS, ConversationRisk, Mark, Trace
from lexicons.matching import Hit
from lexicons.means import taken
from lexicons.rules import HIGH, IMMINENT, MODERATE, framed, own

# Lexicon categories whose hits become a mark of the same name when they are the student's.
_OWN_CUES = {
    "alone": "alone",
    "then": "then",
    "goodbye": "goodbye",
    "give_away": "giving_away",
    "scheduled": "scheduled",
    "thanks": "thanks",
    "accumulate": "hoard",
    "symptom": "symptom",
    "edge": "edge",
    "timing_now": "now",
    "rumination": "fixation",
}
_OWN_RISKS = {
    "hopelessness": "hopeless",
    "burden": "burden",
    "isolation": "isolation",
    "distress": "distress",
    "suicide_pact": "pact",
}


def marks(analysis: Analysis) -> tuple[Mark, ...]:
    """The cue classes ``analysis`` contributes to the conversation (first span per kind)."""
    found: dict[str, Mark] = {}

    def add(kind: str, hits: Iterable[Hit]) -> None:
        for hit in hits:
            if kind not in found and analysis.owns(hit):
                found[kind] = Mark(kind, *analysis.span(hit))

    for part in analysis.parts:
        _part_marks(part, add)
    return tuple(found.values())[:MAX_MARKS]


def _part_marks(part: Part, add: Callable[[str, Iterable[Hit]], None]) -> None:
    msg, feats, findings = part.msg, part.feats, part.findings
    add("active", feats.active)
    add("ideation", feats.ideation)
    add("lethal", feats.lethal)
    add("means", feats.means)
    add("plan", feats.plan)
    add("timing", feats.timing)
    add("resolve", feats.resolve)
    unframed = framed(msg) is None
    for category, kind in _OWN_CUES.items():
        add(kind, (h for h in msg.cues.get(category, ()) if unframed and own(msg, h)))
    for hit in msg.risks:
        risk = _OWN_RISKS.get(hit.category)
        if risk is not None and own(msg, hit):
            add(risk, (hit,))
        if hit.category == "farewell" and own(msg, hit):
            serious = hit.level is not None and hit.level >= MODERATE
            add("farewell" if serious else "goodbye", (hit,))
    add("quantity", msg.cues.get("quantity", ()) if unframed else ())
    add("taken", taken(msg))
    for finding in findings:
        if finding.level < MODERATE:
            continue
        if finding.category == "passive_ideation":
            add("passive", finding.hits[-1:])
        elif finding.category in ("self_harm", "attempt") and finding.level >= HIGH:
            add("self_harm", finding.hits[:1])
        elif finding.rule == "method_question":
            add("method_search", finding.hits[:1])
        elif finding.category == "suicide_pact":
            add("pact", finding.hits[:1])
        elif finding.category == "farewell":
            add("farewell", finding.hits[:1])


@dataclass(frozen=True)
class Combination:
    """A conclusion drawn across messages: level, category, rule, and the marks behind it."""

    level: RiskLevel
    category: str
    rule: str
    marks: tuple[tuple[int, Mark], ...]  # (message number, mark)


Pool = dict[str, list[tuple[int, Mark]]]


def _any(pool: Pool, *kinds: str) -> list[tuple[int, Mark]]:
    return [m for kind in kinds for m in pool.get(kind, ())]


def _rule(
    pool: Pool, level: RiskLevel, category: str, rule: str, *needs: tuple[str, ...]
) -> Combination | None:
    """The combination when every group in ``needs`` has a mark (one of its kinds)."""
    picked = []
    for kinds in needs:
        group = _any(pool, *kinds)
        if not group:
            return None
        picked.append(group[-1])  # the most recent mark of the group
    return Combination(level, category, rule, tuple(picked))


_SERIOUS = ("lethal", "plan", "hoard", "pact", "method_search")
_INTENT = ("active", "ideation", "resolve", "plan", "pact")
_DESPAIR = ("passive", "hopeless", "burden", "isolation", "ideation", "self_harm")
_FAREWELL = ("farewell", "giving_away", "scheduled")


def _combinations(pool: Pool) -> list[Combination]:
    rules = [
        # A time with the means: 药攒够了 … 就今天吧.
        _rule(pool, IMMINENT, "plan", "means_with_time", _SERIOUS, ("timing", "now")),
        _rule(pool, IMMINENT, "plan", "means_with_time", ("means",), _INTENT, ("timing", "now")),
        # Means and being alone, with a time or a wish: 家里没人 … 药都在.
        _rule(pool, IMMINENT, "plan", "alone_with_means", ("alone",), _SERIOUS, _INTENT),
        _rule(pool, IMMINENT, "plan", "alone_with_means", ("alone",), _SERIOUS, ("timing", "now")),
        _rule(pool, IMMINENT, "plan", "alone_with_means", ("alone",), ("means",), ("fixation",)),
        # A plan, then a goodbye or a bland "see you then": 约好了周六 … 到时候见.
        _rule(pool, IMMINENT, "farewell", "plan_then_goodbye", _SERIOUS, _FAREWELL),
        _rule(
            pool,
            IMMINENT,
            "farewell",
            "plan_then_goodbye",
            _SERIOUS,
            ("timing",),
            ("goodbye", "then", "thanks"),
        ),
        _rule(pool, IMMINENT, "farewell", "plan_then_goodbye", _INTENT, ("farewell",)),
        # Something taken, then its effects: 吃了我妈的药 … 好困.
        _rule(pool, IMMINENT, "attempt", "taken_then_symptoms", ("taken",), ("symptom",)),
        _rule(pool, IMMINENT, "location", "at_the_edge", ("means", "lethal"), ("edge",), ("now",)),
        _rule(pool, HIGH, "plan", "ideation_with_means", ("active",), ("means", *_SERIOUS)),
        _rule(pool, HIGH, "plan", "ideation_with_means", _INTENT, _SERIOUS),
        _rule(pool, HIGH, "plan", "gathering_means", ("hoard",), ("quantity", "means")),
        _rule(pool, HIGH, "active_ideation", "ideation_with_resolve", _INTENT, ("resolve",)),
        _rule(pool, HIGH, "active_ideation", "ideation_with_time", ("active",), ("timing",)),
        # Belongings given away, a post scheduled, thanks for everything, with despair.
        _rule(pool, HIGH, "farewell", "farewell_preparations", _FAREWELL, _DESPAIR),
        _rule(pool, HIGH, "farewell", "farewell_preparations", _FAREWELL, ("thanks", "then")),
        _rule(pool, HIGH, "farewell", "farewell_preparations", ("thanks",), _DESPAIR, ("goodbye",)),
    ]
    out = [r for r in rules if r is not None]
    despair = {kind for kind in (*_DESPAIR, *_FAREWELL, "thanks") if pool.get(kind)}
    if len(despair) >= 3:
        picked = tuple(pool[kind][-1] for kind in sorted(despair))
        out.append(Combination(HIGH, "hopelessness", "risk_builds", picked))
    return out


def _pool(traces: Iterable[Trace], current: Trace | None, now: datetime) -> Pool:
    pool: Pool = {}
    for trace in traces:
        for mark in trace.alive(now):
            pool.setdefault(mark.kind, []).append((trace.seq, mark))
    if current is not None:
        for mark in current.marks:
            pool.setdefault(mark.kind, []).append((current.seq, mark))
    return pool


def combinations(state: ConversationRisk, current: Trace, now: datetime) -> list[Combination]:
    """Combinations of the live marks that the current message adds to the conversation.

    A combination counts when the current message and at least one earlier message take part
    in it, and the earlier messages alone did not already reach it (the same rule at the same
    level). Within one message the lexicon's own combinations, which weigh distance and
    clauses, decide.
    """
    before = {(c.rule, c.level) for c in _combinations(_pool(state.traces, None, now))}
    out = []
    for combination in _combinations(_pool(state.traces, current, now)):
        messages = {seq for seq, _ in combination.marks}
        new = (combination.rule, combination.level) not in before
        if new and current.seq in messages and len(messages) > 1:
            out.append(combination)
    return out
