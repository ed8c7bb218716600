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
from lexicons.conversation_rules import BUILDS, RULES, Needs
from lexicons.matching import Hit
from lexicons.means import taken
from lexicons.rules import HIGH, MODERATE, Message, earnest, framed, own, person

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
    "moving": "moving",
    "relapse": "relapse",
    "caustic": "caustic",
    "preparation": "prepared",
    "packed": "prepared",  # in my backpack: ready, once a means and a time are said too
    "meet_request": "meeting",
    "arranged": "arranged",
    "leisure": "leisure",
}
_HURT = frozenset({"bullying", "abuse", "sexual_abuse", "grooming"})
# A friend's own danger (means or a place named about a friend may just be theirs).
_PEER_RISK = frozenset({
    "active_ideation", "passive_ideation", "plan", "attempt", "farewell", "self_harm",
    "suicide_pact", "give_away",
})  # fmt: skip
_PEER_INTENT = frozenset({"active_ideation", "passive_ideation", "plan", "suicide_pact"})
_SWALLOWED = ("吃了", "喝了", "吞了", "倒了", "喝了一口", "倒了一杯", "took", "drank", "swallowed",
              "poured", "took a sip", "took something")  # fmt: skip
# English says what it swallowed after the verb (drank some, chugged it): the verb decides.
_SWALLOW_VERBS = frozenset({"took", "drank", "swallowed", "downed", "chugged", "poured"})
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
    for category, kind in _OWN_CUES.items():
        add(kind, (h for h in msg.cues.get(category, ()) if own(msg, h)))
    for hit in msg.risks:
        risk = _OWN_RISKS.get(hit.category)
        if risk is not None and own(msg, hit):
            add(risk, (hit,))
        if hit.category == "farewell" and own(msg, hit):
            serious = hit.level is not None and hit.level >= MODERATE
            add("farewell" if serious else "goodbye", (hit,))
    add("quantity", (h for h in msg.cues.get("quantity", ()) if framed(msg, h) is None))
    add("frame", (h for k in ("news", "fiction", "academic") for h in msg.cues.get(k, ())))
    add("taken", taken(msg))
    theirs = [
        h
        for h in (*msg.risks, *msg.cues.get("give_away", ()))
        if h.category in _PEER_RISK and person(msg, h) == "third" and framed(msg, h) is None
    ]
    add("peer_risk", theirs)
    # A friend's wish or intent, and a friend handing things over, apart: together they are a
    # friend's farewell, whichever came first.
    add("peer_intent", (h for h in theirs if h.category in _PEER_INTENT))
    add("peer_parting", (h for h in theirs if h.category == "give_away"))
    add("peer_gone", msg.cues.get("unreachable", ()))
    # "my mom has sleeping pills in her drawer": a parent's means, in the student's reach.
    if msg.has("family_agent"):
        add("family_means", (h for h in msg.risks if h.category == "means_method"
                             and person(msg, h) == "third" and framed(msg, h) is None))  # fmt: skip
    # "how many floors do you need" … "to actually not survive": a method asked in two goes.
    add("height_question", (h for h in msg.cues.get("height", ()) if framed(msg, h) is None
                            and msg.in_clause("question", h.clause)))  # fmt: skip
    add("certainty", (h for h in msg.cues.get("certainty", ()) if framed(msg, h) is None))
    # "she just said bye", 她发了句谢谢你: a goodbye or thanks someone else said or texted
    # (not "my parents are out friday night").
    add("peer_goodbye", (h for h in msg.cues.get("goodbye", ()) if _said_by_another(msg, h)))
    add("peer_thanks", (h for h in msg.cues.get("thanks", ()) if _said_by_another(msg, h)))
    add("their_means", (h for h in msg.risks if h.category == "means_method"
                        and person(msg, h) == "third" and framed(msg, h) is None))  # fmt: skip
    add("consumed", (h for h in msg.cues.get("completion", ()) if _swallowed(h) and own(msg, h)))
    add("earnest", (h for h in msg.cues.get("sincerity", ()) if earnest(msg)))
    add("meeting", msg.cues.get("meet_request", ()))
    add("pact_hint", (h for h in msg.risks if h.category == "suicide_pact"))
    add(
        "pact_hint",
        msg.cues.get("together", ())
        if msg.cues.get("together")
        and any(h.category in ("means_method", "location") for h in msg.risks)
        else (),
    )
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
        elif finding.category in _HURT:
            add("hurt", finding.hits[:1])
        elif finding.category == "peer_concern":
            add("peer_risk", finding.hits[:1])
            add("peer_intent", finding.hits[:1])


def _said_by_another(msg: Message, hit: Hit) -> bool:
    """Words someone else said or sent: a reporting verb just before, with a third person as
    its subject (the quote's own "i" and "you" are the friend's and the student's)."""
    said = msg.before(hit, "reported", 4)
    return said is not None and person(msg, said) == "third" and framed(msg, hit) is None


def _swallowed(hit: Hit) -> bool:
    pattern = hit.entry.pattern
    return pattern in _SWALLOWED or pattern.split(" ", 1)[0] in _SWALLOW_VERBS


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
    pool: Pool, level: RiskLevel, category: str, rule: str, needs: Needs
) -> Combination | None:
    """The combination when every group in ``needs`` has a mark (one of its kinds)."""
    picked = []
    for kinds in needs:
        group = _any(pool, *kinds)
        if not group:
            return None
        picked.append(group[-1])  # the most recent mark of the group
    return Combination(level, category, rule, tuple(picked))


# Each rule's groups as sets, to skip at once a rule whose kinds are not all in the pool (most
# rules, most turns) before gathering any marks.
_GROUPS = tuple(tuple(frozenset(kinds) for kinds in needs) for *_, needs in RULES)


def _combinations(pool: Pool) -> list[Combination]:
    kinds = pool.keys()
    found = (
        _rule(pool, *row)
        for row, groups in zip(RULES, _GROUPS, strict=True)
        if all(not kinds.isdisjoint(group) for group in groups)
    )
    out = [c for c in found if c is not None]
    if pool.get("moving"):
        # 下个月转学 … 把漫画送给同桌 … 谢谢大家: a move, not a farewell.
        out = [c for c in out if c.category != "farewell" or c.rule == "plan_then_goodbye"]
    despair = {kind for kind in BUILDS if pool.get(kind)}
    if len(despair) >= 3:
        picked = tuple(pool[kind][-1] for kind in sorted(despair))
        out.append(Combination(HIGH, "hopelessness", "risk_builds", picked))
    return out


def alive_pool(state: ConversationRisk, now: datetime) -> Pool:
    """The marks of earlier messages still alive at ``now``, by kind, oldest first (read once
    per turn: the window's rules, the story frame and the model's suppressor all ask it)."""
    pool: Pool = {}
    for trace in state.traces:
        for mark in trace.alive(now):
            pool.setdefault(mark.kind, []).append((trace.seq, mark))
    return pool


def combinations(earlier: Pool, current: Trace) -> list[Combination]:
    """Combinations of the live marks that the current message adds to the conversation.

    ``earlier`` is ``alive_pool`` of the conversation before this message. A combination
    counts when the current message and at least one earlier message take part in it, and the
    earlier messages alone did not already reach it (the same rule at the same level). Within
    one message the lexicon's own combinations, which weigh distance and clauses, decide.
    """
    if not earlier or not current.marks:
        return []  # nothing to combine with, or nothing to add
    before = {(c.rule, c.level) for c in _combinations(earlier)}
    pool = {kind: list(marks) for kind, marks in earlier.items()}  # the same, plus the current
    for mark in current.marks:
        pool.setdefault(mark.kind, []).append((current.seq, mark))
    out = []
    for combination in _combinations(pool):
        messages = {seq for seq, _ in combination.marks}
        new = (combination.rule, combination.level) not in before
        if new and current.seq in messages and len(messages) > 1:
            out.append(combination)
    return out
