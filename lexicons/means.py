"""Means and methods: dose questions, means taken or gathered, jumping, self-injury acts.

Means beat feelings. A question about a dose, pills already swallowed, a rope made ready or
a blade on the wrist is serious however calmly it is written.
"""

from __future__ import annotations

from lexicons.levels import SUICIDALITY
from lexicons.matching import Hit, gap
from lexicons.rules import HIGH, IMMINENT, MODERATE, Finding, Message, framed, own, person

# The injured object must follow the verb: 划了自己 / cut my arm, not "i cut class".
REFLEXIVE = frozenset({"自己", "我自己", "myself", "me"})


def _injured(msg: Message, act: Hit) -> Hit | None:
    """The body part or self an injury verb acts on: 划了自己, 把手腕划破了, 在手上划了."""
    for cue in msg.in_clause("body_part", act.clause):
        left, right = (cue, act) if cue.end <= act.start else (act, cue)
        if gap(msg.text, left.end, right.start) <= 4:
            return cue
    for cue in msg.in_clause("first_person", act.clause):
        after = cue.start >= act.end and gap(msg.text, act.end, cue.start) <= 3
        if after and cue.entry.pattern in REFLEXIVE:
            return cue
    return None


def _asked(msg: Message, hit: Hit) -> bool:
    """Own, or asked about with a generic "you" (how many pills would kill you)."""
    if own(msg, hit):
        return True
    return (
        msg.near(hit, "question", 8) is not None
        and person(msg, hit) == "second"
        and framed(msg) is None
    )


def _means(msg: Message) -> list[Hit]:
    return [h for h in msg.risks if h.category in ("means_method", "attempt") and _asked(msg, h)]


def _end_of_life(msg: Message, item: Hit) -> Hit | None:
    """What a dose question asks about: death, harm, or not waking up (不醒 / not wake up)."""
    for category in ("death", "outcome", "vanish"):
        found = msg.near(item, category, 8)
        if found is not None:
            return found
    life = msg.near(item, "life", 8)
    if life is not None and msg.before(life, "negation", 1) is not None:
        return life
    return None


def _first(msg: Message, category: str) -> Hit | None:
    found = msg.cues.get(category)
    return found[0] if found else None


# "Already" and "just" say when, not what: 刀片我已经磨好了 is a plan, not an overdose.
WEAK_COMPLETION = frozenset({"已经", "已", "刚", "刚刚", "刚才", "already", "just"})


def _done(msg: Message, item: Hit) -> Hit | None:
    acts = [
        c
        for c in msg.in_clause("completion", item.clause)
        if c.entry.pattern not in WEAK_COMPLETION
    ]
    for cue in acts:
        left, right = (cue, item) if cue.end <= item.start else (item, cue)
        if gap(msg.text, left.end, right.start) <= 6:
            return cue
    return None


def _lethal(hit: Hit) -> bool:
    return hit.level is not None and hit.level >= HIGH


def means_rules(msg: Message) -> list[Finding]:
    """Findings from means and methods combined with questions, completion and time."""
    out: list[Finding] = []
    means = _means(msg)
    for item in means:
        question = msg.near(item, "question", 8)
        result = _end_of_life(msg, item)
        if question is not None and (_lethal(item) or result is not None):
            parts = tuple(h for h in (question, item, result) if h is not None)
            out.append(Finding(HIGH, "means_method", "method_question", parts))
        if msg.in_clause("timing_past", item.clause) or msg.near(item, "question", 8):
            continue
        done = _done(msg, item)
        now = msg.near(item, "timing_now", 6)
        # The count or the symptoms often come in the next clause: 吃下去了，三十多片，头好晕.
        amount = _first(msg, "quantity")
        # Symptoms after "took some medicine" are a cold as often as an overdose: they count
        # only next to another sign of self-harm in the message.
        distress = any(h.category in SUICIDALITY and h is not item for h in msg.risks)
        sign = _first(msg, "symptom") if distress else None
        if (done is not None or now is not None) and (
            _lethal(item) or amount is not None or sign is not None
        ):
            parts = tuple(h for h in (done or now, amount or sign, item) if h is not None)
            out.append(Finding(IMMINENT, "attempt", "means_taken", parts))
        hoard = msg.near(item, "accumulate", 6)
        if hoard is not None:
            out.append(Finding(HIGH, "plan", "gathering_means", (hoard, item)))
        ready = msg.near(item, "preparation", 6)
        if ready is not None and done is None:
            out.append(Finding(HIGH, "plan", "means_ready", (ready, item)))
    out.extend(_jumping(msg))
    out.extend(_self_injury(msg, means))
    out.extend(_method_seeking(msg))
    dwell = _first(msg, "rumination")
    if dwell is not None and means and not out:
        out.append(Finding(HIGH, "means_method", "preoccupied_with_means", (dwell, means[0])))
    return out


def _method_seeking(msg: Message) -> list[Finding]:
    """怎么死最快 / what's the fastest way to die: a question about how, without a named means."""
    out = []
    for death in msg.cues.get("death", ()):
        if not (own(msg, death) or person(msg, death) == "second"):
            continue
        question = msg.near(death, "question", 6)
        how = msg.near(death, "method_word", 6)
        if question is not None and how is not None and framed(msg) is None:
            out.append(Finding(HIGH, "means_method", "method_question", (question, how, death)))
    return out


def _jumping(msg: Message) -> list[Finding]:
    """从阳台跳 / jump off the roof: a jump with a high place is a method."""
    out = []
    for jump in msg.cues.get("jump", ()):
        if not own(msg, jump):
            continue
        # 我现在在天台上，马上就跳: the place is often named a clause earlier.
        places = [h for h in msg.risks if h.category == "location" and own(msg, h)]
        if places:
            out.append(Finding(HIGH, "means_method", "jump_from_height", (places[0], jump)))
    return out


def _self_injury(msg: Message, means: list[Hit]) -> list[Finding]:
    """划了自己 / 拿刀片划 / cut my arm: an injury verb with the self or a blade."""
    out = []
    for act in msg.cues.get("harm_act", ()):
        if not own(msg, act):
            continue
        target = _injured(msg, act)
        tool = next((m for m in means if m.clause == act.clause), None)
        if target is None and tool is None:
            continue
        parts = tuple(h for h in (tool, act, target) if h is not None)
        clause = act.clause
        if msg.in_clause("timing_past", clause) and not msg.in_clause("timing_recent", clause):
            out.append(Finding(MODERATE, "past_attempt", "past_self_harm", parts))
        elif msg.before(act, "desire", 4) or msg.before(act, "conditional", 6):
            out.append(Finding(MODERATE, "self_harm", "self_harm_thoughts", parts))
        elif msg.has("timing_now") and (msg.has("symptom") or msg.has("completion")):
            out.append(Finding(IMMINENT, "attempt", "self_harm_now", parts))
        elif msg.in_clause("timing_recent", clause) or msg.in_clause("completion", clause):
            out.append(Finding(HIGH, "self_harm", "recent_self_harm", parts))
        else:
            out.append(Finding(MODERATE, "self_harm", "self_harm_act", parts))
    return out
