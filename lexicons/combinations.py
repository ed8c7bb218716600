"""Message- and conversation-level combinations: means with time, ideation with means,
farewells, being at the place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.vocabulary import RiskLevel
from lexicons.matching import Hit
from lexicons.rules import HIGH, IDEATION, IMMINENT, MODERATE, Finding, Message, framed, own

TIMING = ("timing_soon", "timing_now")


@dataclass(frozen=True)
class Features:
    """What one message contributes to a conversation-level judgement."""

    ideation: tuple[Hit, ...]
    means: tuple[Hit, ...]
    plan: tuple[Hit, ...]
    timing: tuple[Hit, ...]
    lethal: tuple[Hit, ...]
    resolve: tuple[Hit, ...] = ()
    active: tuple[Hit, ...] = ()  # the ideation that is a wish or intent to die, not passive

    @property
    def empty(self) -> bool:
        """True when the message adds nothing that combines."""
        return not (self.ideation or self.means or self.plan or self.timing or self.resolve)


def features(msg: Message, live: list[Hit], findings: list[Finding]) -> Features:
    """The message's own ideation, means, plans and timing, for combining."""
    ideation = tuple(
        f.hits[-1] for f in findings if f.category in IDEATION and f.level > RiskLevel.LOW
    )
    means = tuple(h for h in live if h.category in ("means_method", "location"))
    means += tuple(f.hits[0] for f in findings if f.rule == "jump_from_height")
    lethal = tuple(h for h in means if h.level is not None and h.level >= HIGH)
    lethal += tuple(f.hits[0] for f in findings if f.rule == "jump_from_height")
    # A low plan entry (安排好了) is an everyday phrase until something else makes it a plan.
    plan = tuple(
        h for h in live if h.category == "plan" and h.level is not None and h.level >= MODERATE
    )
    plan += tuple(f.hits[-1] for f in findings if f.category == "plan")
    timing = tuple(
        h for category in TIMING for h in msg.cues.get(category, ()) if framed(msg, h) is None
    )
    resolve = tuple(h for h in msg.cues.get("resolve", ()) if own(msg, h))
    active = tuple(
        f.hits[-1] for f in findings if f.category == "active_ideation" and f.level > MODERATE
    )
    return Features(ideation, means, plan, timing, lethal, resolve, active)


def combine(parts: list[Features], msg: Message | None = None) -> list[Finding]:
    """Combine features from one or more messages (the conversation window)."""
    ideation = tuple(h for p in parts for h in p.ideation)
    means = tuple(h for p in parts for h in p.means)
    lethal = tuple(h for p in parts for h in p.lethal)
    plan = tuple(h for p in parts for h in p.plan)
    timing = tuple(h for p in parts for h in p.timing)
    resolve = tuple(h for p in parts for h in p.resolve)
    active = tuple(h for p in parts for h in p.active)
    # An object that only counts in combination (药, 小刀) makes a passive wish a plan only
    # next to a real wish to die; means of their own weight do so with any ideation.
    # A place to fall or drown (天台, 江边) is a means next to a wish to die, low as it is alone.
    weighty = tuple(
        h
        for h in means
        if (h.level is not None and h.level >= MODERATE) or h.category == "location"
    )
    out: list[Finding] = []
    # "I've decided" means nothing alone; next to means or a death wish it is intent.
    intent = ideation or plan or resolve
    # 今晚阳台烧烤，爸爸买了一大袋炭: charcoal and a time at a barbecue, with no wish to die.
    outing = msg is not None and msg.has("leisure") and not (ideation or resolve)
    if timing and (lethal or plan or (means and intent)) and not outing:
        anchor = (lethal or plan or means)[0]
        out.append(Finding(IMMINENT, "plan", "means_with_time", (anchor, timing[0])))
    with_means = (active and means) or (ideation and (plan or weighty))
    if with_means:
        anchor = (active or ideation)[0]
        out.append(
            Finding(HIGH, "plan", "ideation_with_means", (anchor, (plan or weighty or means)[0]))
        )
    if ideation and resolve and not out:
        out.append(
            Finding(HIGH, "active_ideation", "ideation_with_resolve", (ideation[0], resolve[0]))
        )
    if active and timing and not out:
        # "明天又要早起，不想活了" is a passive wish with a time in it, not a plan.
        out.append(Finding(HIGH, "active_ideation", "ideation_with_time", (active[0], timing[0])))
    if msg is not None:
        # An everyday goodbye next to 药 or 江边 is not a final farewell; next to lethal means,
        # a death wish or hopelessness it is.
        hopeless = tuple(h for h in msg.risks if h.category == "hopelessness" and own(msg, h))
        out.extend(_farewells(msg, ideation or lethal, hopeless))
        if not out:
            out.extend(_preparations(msg, ideation, hopeless))
        out.extend(_locations(msg, ideation))
    return out


_DESPAIR = frozenset({"hopelessness", "burden", "isolation", "passive_ideation", "active_ideation"})


def _preparations(
    msg: Message, ideation: tuple[Hit, ...], hopeless: tuple[Hit, ...]
) -> list[Finding]:
    """Belongings given away or a message scheduled, beside despair or a goodbye: farewell
    preparations (我把switch送给表弟了 反正以后用不上; set it to post on Sunday night)."""
    prepared = [h for k in ("give_away", "scheduled") for h in msg.cues.get(k, ()) if own(msg, h)]
    if not prepared:
        return []
    if msg.has("moving"):
        return []  # 下个月转学了，把漫画都送给同桌: a move, not a farewell
    despair = [h for h in msg.risks if h.category in _DESPAIR and own(msg, h)]
    # A farewell entry that is itself the giving away (都送给) is not a second sign.
    given = {(h.start, h.end) for h in prepared}
    serious = [
        h
        for h in msg.risks
        if h.category == "farewell"
        and h.level is not None
        and h.level >= MODERATE
        and own(msg, h)
        and not any(start < h.end and h.start < end for start, end in given)
    ]
    # Two different preparations (accounts deleted, the cat given away) are a farewell too.
    different = [h for h in prepared if h.entry.pattern != prepared[0].entry.pattern]
    other = despair or list(ideation) or list(hopeless) or serious or different
    if not other:
        return []
    return [Finding(HIGH, "farewell", "farewell_preparations", (prepared[0], other[0]))]


def _farewells(msg: Message, intent: tuple[Hit, ...], hopeless: tuple[Hit, ...]) -> list[Finding]:
    """Two goodbyes, or a goodbye with a wish to die or the means, are a final farewell.

    Hopelessness joins only a goodbye that is more than an everyday "bye" (level ≥ moderate).
    """
    goodbyes = [h for h in msg.risks if h.category == "farewell" and own(msg, h)]
    serious = [h for h in goodbyes if h.level is not None and h.level >= MODERATE]
    # 最后再看一眼月亮，就下去了: a serious goodbye with a jump is going over.
    going = serious and any(own(msg, j) for j in msg.cues.get("jump", ()))
    if len(goodbyes) >= 2 or (goodbyes and intent) or (serious and (hopeless or going)):
        return [Finding(IMMINENT, "farewell", "final_farewell", tuple(goodbyes[:2]))]
    return []


# Said right before a place, these put the student there now: 我在江边 / 站在 / 已经到了.
_PRESENCE = ("在", "到", "到了", "上了")
# … unless the place is where something lives or someone is kept: 我家在江边, 被关在阳台.
_RESIDENCE = ("家在", "住在", "校在", "家就在", "关在", "锁在")


# i am on the (school) roof / standing on my window ledge / sitting at the station.
_HERE = re.compile(
    r"\b(?:i am|standing|sitting|stood)\s+(?:on|at|in)\s+(?:the\s+|my\s+)?(?:\w+\s+)?$"
)


def _present(msg: Message, place: Hit) -> bool:
    """我在河边 / 已经在顶楼了 / i am on the roof: the student is at the place as they write."""
    if msg.in_clause("timing_past", place.clause):
        return False
    if place.entry.latin:
        return bool(_HERE.search(msg.text[max(0, place.start - 40) : place.start]))
    before = msg.text[max(0, place.start - 3) : place.start]
    if before.endswith(_RESIDENCE):
        return False
    return before.endswith(_PRESENCE) or place.entry.pattern.startswith(("在", "站在", "坐在"))


def _locations(msg: Message, ideation: tuple[Hit, ...]) -> list[Finding]:
    out: list[Finding] = []
    places = [h for h in msg.risks if h.category == "location" and own(msg, h)]
    if not places:
        return out
    soon = msg.has("timing_soon")
    danger = (
        bool(ideation)
        or msg.has("symptom")
        or msg.has("jump")
        or msg.has("edge")
        or any(h.category == "farewell" for h in msg.risks)
    )
    # 天文社今晚在楼顶看流星雨: with others, for something to do there, and no sign of
    # danger, being at a high place is an outing.
    outing = not danger and msg.has("leisure")
    for place in places:
        high_place = place.level is not None and place.level >= HIGH
        now = msg.has("timing_now") or _present(msg, place)
        if (
            ((now or soon) and danger)
            or (now and high_place and not outing)
            or (high_place and danger)
        ):
            out.append(Finding(IMMINENT, "location", "at_the_place", (place,)))
        elif now and not outing:
            # 我现在在楼顶 / 我在河边那座桥上, said to a crisis line, is worth an urgent call
            # even without words of despair; a plain place alone is not.
            out.append(Finding(HIGH, "location", "at_a_high_place_now", (place,)))
    return out
