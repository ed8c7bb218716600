"""Safeguarding from parts: who did what to the student, secrets and requests from adults."""

from __future__ import annotations

from lexicons.matching import Hit
from lexicons.normalize import CLAUSE_BREAKS
from lexicons.rules import HIGH, MODERATE, Finding, Message, framed, negated, person


def _targets_student(msg: Message, act: Hit) -> bool:
    after = msg.near(act, "first_person", 2)
    return after is not None


_SCOLDING = frozenset({"骂", "说", "批评", "吼", "凶", "训"})


def _suffered(msg: Message, act: Hit) -> bool:
    """被打 / 被扒裤子 / 被几个高年级的要钱, with no one else named as the sufferer."""
    if msg.text.startswith("醒", act.end):
        return False  # 被粉笔头砸醒: woken up by it, a classroom joke
    start = max(0, act.start - 7)
    bei = msg.text.rfind("被", start, act.start)
    if bei < 0 or any(ch in CLAUSE_BREAKS for ch in msg.text[bei : act.start]):
        return False
    # Who was it done to: the last person named before 被 in the clause (我同学被…: not us).
    named = [
        c
        for category in ("first_person", "third_person")
        for c in msg.cues.get(category, ())
        if c.clause == act.clause and c.end <= bei
    ]
    if named:
        return max(named, key=lambda c: c.end).category == "first_person"
    return person(msg, act) in ("first", "none")


def _at_home(msg: Message, act: Hit, agent: Hit | None) -> bool:
    """A family member hurt by someone who is not the student and not another child."""
    victim = msg.near(act, "family_agent", 2)
    if victim is None or victim.start < act.end or person(msg, act) == "first":
        return False
    return agent is None or agent.category == "family_agent"


def _agent(msg: Message, act: Hit) -> Hit | None:
    best = None
    for category in ("peer_agent", "family_agent", "adult_agent"):
        for cue in msg.cues.get(category, ()):
            if cue.end <= act.start and (best is None or cue.end > best.end):
                best = cue
    return best


def safeguarding_rules(msg: Message) -> list[Finding]:
    """Bullying, abuse, grooming and threats of violence from cue combinations."""
    out: list[Finding] = []
    for act in msg.cues.get("hostile_act", ()):
        if negated(msg, act) is not None or framed(msg, act) is not None:
            continue
        agent = _agent(msg, act)
        if _targets_student(msg, act):
            if agent is None:
                continue
            category = "abuse" if agent.category == "family_agent" else "bullying"
            out.append(Finding(MODERATE, category, "hurt_by_someone", (agent, act)))
        elif _suffered(msg, act):
            # 天天被扒裤子: the passive voice names the student as the one it was done to.
            # Being told off (被妈妈骂了) by a carer or a teacher is everyday, not abuse.
            grown_up = agent is not None and agent.category in ("family_agent", "adult_agent")
            if grown_up and act.entry.pattern in _SCOLDING:
                continue
            category = (
                "abuse" if agent is not None and agent.category == "family_agent" else "bullying"
            )
            out.append(Finding(MODERATE, category, "hurt_by_someone", (act,)))
        elif _at_home(msg, act, agent):
            # 我爸喝醉了打我妈 / 砸了东西 还打了我妈: violence at home, which the student lives in.
            out.append(Finding(MODERATE, "abuse", "violence_at_home", (act,)))
        elif agent is not None and agent.category in ("family_agent", "adult_agent"):
            victim = msg.near(act, "third_person", 2)
            if victim is not None and victim.start >= act.end:
                # 我同学说她家里人打她: a friend hurt at home is a peer report.
                out.append(Finding(MODERATE, "peer_concern", "peer_hurt", (agent, act, victim)))
    lure = msg.cues.get("adult_agent", []) + msg.cues.get("gift", [])
    asks = [c for k in ("secrecy", "photo_request", "meet_request") for c in msg.cues.get(k, ())]
    kinds = {c.category for c in asks}
    about_me = framed(msg) is None or msg.has("first_person")
    if (
        about_me
        and asks
        and (lure or len(kinds) >= 2 or ("photo_request" in kinds and msg.has("secrecy")))
    ):
        anchor = (lure or asks)[0]
        out.append(Finding(MODERATE, "grooming", "secret_contact", (anchor, asks[0])))
    for revenge in msg.cues.get("revenge", ()):
        if negated(msg, revenge) is not None:
            continue
        means = [h for h in msg.risks if h.category == "means_method"]
        timing = msg.cues.get("timing_soon", []) + msg.cues.get("timing_now", [])
        armed = bool(means or timing or msg.has("preparation"))
        if person(msg, revenge) == "third" and not armed:
            continue  # "他说要让我付出代价": a threat against the student, not by them
        level = HIGH if armed else MODERATE
        out.append(Finding(level, "violence_to_others", "revenge", (revenge,)))
    return out
