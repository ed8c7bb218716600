"""Means and methods: dose questions, means taken or gathered, jumping, self-injury acts.

Means beat feelings. A question about a dose, pills already swallowed, a rope made ready or
a blade on the wrist is serious however calmly it is written.
"""

from __future__ import annotations

import re

from core.vocabulary import SUICIDALITY
from lexicons.matching import Hit, gap, synthetic
from lexicons.rules import (
    HIGH,
    IMMINENT,
    MODERATE,
    Finding,
    Message,
    days_ago,
    framed,
    own,
    person,
)

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
        and framed(msg, hit) is None
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
_WHEN = frozenset({"已经", "已", "刚", "刚刚", "刚才", "already", "just"})
# 买了 / 买好了 say it was got hold of, never that it was taken (acquired_means below).
_BOUGHT = frozenset({"买了", "买好了", "bought"})


def _completion(msg: Message, item: Hit, *, bought: bool) -> Hit | None:
    """The completion cue beside ``item``: an act done (吃了), or with ``bought`` a purchase."""
    for cue in msg.in_clause("completion", item.clause):
        if (cue.entry.pattern in _BOUGHT) != bought or cue.entry.pattern in _WHEN:
            continue
        left, right = (cue, item) if cue.end <= item.start else (item, cue)
        if gap(msg.text, left.end, right.start) <= 6:
            return cue
    return None


def _done(msg: Message, item: Hit) -> Hit | None:
    return _completion(msg, item, bought=False)


def taken(msg: Message) -> list[Hit]:
    """Means the student says they swallowed or used (吃了我妈的药), whatever the dose."""
    return [item for item in _means(msg) if own(msg, item) and _done(msg, item) is not None]


# Any swallow of these can kill (paraquat has no antidote): taken at all is an attempt.
_POISONS = ("农药", "百草枯", "老鼠药", "敌敌畏", "除草剂", "杀虫剂", "pesticide", "paraquat")


def _lethal(hit: Hit) -> bool:
    if hit.level is not None and hit.level >= HIGH:
        return True
    return any(poison in hit.entry.pattern for poison in _POISONS)


# 不知道是什么 / 不清楚吃了几片: an embedded question is a statement, not a question.
_UNSURE = ("不知道", "不清楚", "不晓得", "不确定", "没数", "i do not know", "not sure")


def _question_near(msg: Message, item: Hit, max_gap: int) -> Hit | None:
    question = msg.near(item, "question", max_gap)
    if question is None:
        return None
    before = msg.text[max(0, question.start - 6) : question.start]
    return None if any(u in before for u in _UNSURE) else question


def means_rules(msg: Message) -> list[Finding]:
    """Findings from means and methods combined with questions, completion and time."""
    out: list[Finding] = []
    means = _means(msg)
    for item in means:
        question = _question_near(msg, item, 8)
        result = _end_of_life(msg, item) or msg.near(item, "method_word", 8)
        if question is not None and (_lethal(item) or result is not None):
            parts = tuple(h for h in (question, item, result) if h is not None)
            out.append(Finding(HIGH, "means_method", "method_question", parts))
        if msg.in_clause("timing_past", item.clause) or question is not None:
            continue
        if days_ago(msg, item.clause):
            continue  # 上周吞了一把药: an attempt survived days ago (high), not one under way
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
        # 我买了刀片 / 绳子我已经买到了: a named means got hold of. A bare 药 or 刀 bought is
        # a cold or a kitchen, so one-character means do not count.
        got = msg.near(item, "acquire", 6) or _completion(msg, item, bought=True)
        if got is not None and hoard is None and len(item.entry.pattern) >= 2:
            out.append(Finding(HIGH, "plan", "acquired_means", (got, item)))
        ready = msg.near(item, "preparation", 6)
        if ready is not None and done is None:
            out.append(Finding(HIGH, "plan", "means_ready", (ready, item)))
    out.extend(_counted_hoard(msg))
    if not means:
        out.extend(_took_everything(msg))
    out.extend(_jumping(msg))
    out.extend(_self_injury(msg, means))
    out.extend(_bleeding(msg))
    out.extend(_method_seeking(msg))
    out.extend(_place_question(msg))
    dwell = _first(msg, "rumination")
    if dwell is not None and means and not out:
        out.append(Finding(HIGH, "means_method", "preoccupied_with_means", (dwell, means[0])))
    return out


# Swallowing verbs (not 买了 / bought) and quantities that mean the whole supply.
_SWALLOWED = ("吞", "吃了", "吃完", "喝了", "喝完", "took", "swallowed", "downed")
_EVERYTHING = ("所有", "全部", "一整", "整瓶", "整板", "all of them", "all of it", "whole", "every")


def _took_everything(msg: Message) -> list[Finding]:
    """已经吃了所有的药 / took all of them, getting hard to keep my eyes open: the means
    unnamed (or inside the quantity), the whole supply swallowed, with a sign or a word of it.
    """
    if msg.has("joke"):
        return []
    for amount in msg.cues.get("quantity", ()):
        if framed(msg, amount) is not None:
            continue
        if not any(word in amount.entry.pattern for word in _EVERYTHING):
            continue
        for act in msg.cues.get("completion", ()):
            close = abs(act.clause - amount.clause) <= 1 and own(msg, act)
            if not close or not any(v in act.entry.pattern for v in _SWALLOWED):
                continue
            named = "药" in amount.entry.pattern or "pill" in amount.entry.pattern
            sign = _first(msg, "symptom")
            goodbye = any(h.category == "farewell" for h in msg.risks)
            if named or sign is not None or goodbye:
                parts = tuple(h for h in (act, amount, sign) if h is not None)
                return [Finding(IMMINENT, "attempt", "means_taken", parts)]
    return []


def _counted_hoard(msg: Message) -> list[Finding]:
    """我已经存了二十几片: saving up a counted dose is gathering means, pills named or not."""
    out = []
    for hoard in msg.cues.get("accumulate", ()):
        if not own(msg, hoard):
            continue
        for amount in msg.cues.get("quantity", ()):
            counted = amount.entry.source == "rule:quantity" and amount.clause == hoard.clause
            after = amount.start >= hoard.end
            if counted and after and gap(msg.text, hoard.end, amount.start) <= 4:
                out.append(Finding(HIGH, "plan", "gathering_means", (hoard, amount)))
                return out
    return out


def _other_object(msg: Message, act: Hit) -> bool:
    """An English harm verb followed by an article: what it acts on is a thing, not the self."""
    return act.entry.latin and msg.text.startswith((" the ", " a ", " an ", " some "), act.end)


def _bleeding(msg: Message) -> list[Finding]:
    """手腕一直在流血: bleeding from a self-harm site; with another sign, happening now."""
    out = []
    bleeding = [
        s for s in msg.cues.get("symptom", ()) if "血" in s.entry.pattern or "流" in s.entry.pattern
    ]
    for part in msg.cues.get("body_part", ()):
        if not own(msg, part) or len(part.entry.pattern) < 2:
            continue
        sign = next((b for b in bleeding if b.clause == part.clause), None)
        if sign is None:
            continue
        other = [s for s in msg.cues.get("symptom", ()) if s is not sign]
        if other or msg.has("timing_now"):
            out.append(Finding(IMMINENT, "attempt", "bleeding_now", (part, sign)))
        else:
            out.append(Finding(HIGH, "self_harm", "bleeding", (part, sign)))
        break
    return out


# A floor or a height named with a number: 七楼, 18层, 28 floors.
_FLOORS = re.compile(
    r"[\d一二三四五六七八九十几两]+\s*(?:楼|层)|\b\d+\s*(?:floors?|stories|storeys)\b"
)


def _place_question(msg: Message) -> list[Finding]:
    """哪栋楼最高 / 哪座桥下面水深: asking which place is high or deep enough is a method.

    Without a death word too: 几楼才能确定 / 七楼够不够 / how many floors to be sure.
    """
    for sure in msg.cues.get("certainty", ()):
        if framed(msg, sure) is not None:
            continue
        height = next(iter(msg.cues.get("height", ())), None)
        if height is None:
            floors = _FLOORS.search(msg.text)
            if floors is not None:
                height = synthetic(msg.text, floors.start(), floors.end(), "a floor", "height")
        if height is not None and abs(height.clause - sure.clause) <= 1:
            return [Finding(HIGH, "means_method", "method_question", (height, sure))]
    for high in msg.cues.get("height", ()):
        if framed(msg, high) is not None:
            continue
        # 从几楼下去肯定就没了 / which floor is high enough that you do not survive
        outcome = msg.near(high, "outcome", 10) or msg.near(high, "death", 10)
        asked = any(q.clause == high.clause for q in msg.cues.get("question", ()))
        if outcome is not None and asked:
            return [Finding(HIGH, "means_method", "method_question", (high, outcome))]
    for place in (h for h in msg.risks if h.category == "location"):
        height = msg.near(place, "height", 6)
        if height is None or framed(msg, place) is not None:
            continue
        question = _question_near(msg, place, 8) or msg.near(height, "question", 8)
        if question is not None:
            return [Finding(HIGH, "means_method", "method_question", (question, place, height))]
    return []


def _method_seeking(msg: Message) -> list[Finding]:
    """怎么死最快 / what's the fastest way to die: a question about how, without a named means."""
    out = []
    for death in msg.cues.get("death", ()):
        if not (own(msg, death) or person(msg, death) == "second"):
            continue
        question = msg.near(death, "question", 6)
        how = msg.near(death, "method_word", 6)
        if question is not None and how is not None and framed(msg, death) is None:
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
        # 好想划一下，小刀就在桌上: the blade is often named in the next clause.
        at_hand = tool or next((m for m in means if m.clause > act.clause), None)
        urge = msg.before(act, "desire", 4)
        if target is None and tool is None and not (urge and at_hand):
            continue
        if target is None and _other_object(msg, act):
            continue  # cut the watermelon / cut a piece of string: something else is cut
        parts = tuple(h for h in (tool, act, target) if h is not None)
        clause = act.clause
        if msg.in_clause("timing_past", clause) and not msg.in_clause("timing_recent", clause):
            out.append(Finding(MODERATE, "past_attempt", "past_self_harm", parts))
        elif urge is not None and at_hand is not None:
            # 好想割，刀片就在笔袋里: the urge with the blade at hand is more than a thought.
            out.append(Finding(HIGH, "self_harm", "urge_with_means", (act, at_hand)))
        elif msg.before(act, "desire", 4) or msg.before(act, "conditional", 6):
            out.append(Finding(MODERATE, "self_harm", "self_harm_thoughts", parts))
        elif msg.has("timing_now") and (msg.has("symptom") or msg.has("completion")):
            out.append(Finding(IMMINENT, "attempt", "self_harm_now", parts))
        elif msg.in_clause("timing_recent", clause) or msg.in_clause("completion", clause):
            out.append(Finding(HIGH, "self_harm", "recent_self_harm", parts))
        else:
            out.append(Finding(MODERATE, "self_harm", "self_harm_act", parts))
    return out
