"""Disordered eating: purging, laxatives, starving on purpose, tiny calorie counts.

The lexicon lists the behaviours (催吐, pro-ana, make myself throw up). These rules add the
counted forms (一天只吃两百卡, 300 cal a day, 三天没吃东西) and raise any of it to high when the
body is already failing (fainting, a racing heart, cramps).
"""

from __future__ import annotations

import re

from lexicons.matching import Hit, synthetic
from lexicons.rules import HIGH, MODERATE, Finding, Message, framed, own

_NUMBER = r"(?:\d{1,4}|[一二两三四五六七八九十百几]+)"
# A day's intake in calories, or days without food.
_CALORIES = re.compile(rf"({_NUMBER})\s*(?:大卡|千卡|卡|kcal|cal|calories)(?![a-z])")
_FASTED = re.compile(
    rf"{_NUMBER}\s*(?:天|个星期|周)\s*(?:都)?没(?:有)?吃(?:东西|饭)"
    rf"|(?:have not|did not|has not) eaten (?:anything )?(?:in|for) {_NUMBER} days"
)
_DAILY = ("一天", "每天", "今天", "a day", "per day", "intake", "only")
_BODY = ("晕倒", "晕了", "心跳好快", "抽筋", "站不稳", "fainted", "passed out", "heart is racing")


def _small(number: str) -> bool:
    if number.isdigit():
        return int(number) < 800
    return "千" not in number and not number.startswith(("八百", "九百"))


def eating_rules(msg: Message) -> list[Finding]:
    """Counted restriction, and eating-disorder signs with a body already in danger."""
    out: list[Finding] = []
    text = msg.text
    counted = None
    # Each pattern needs its unit or its verb: without one, neither search can match.
    calories = _CALORIES.finditer(text) if "卡" in text or "cal" in text else ()
    for match in calories:
        window = text[max(0, match.start() - 12) : match.end() + 8]
        if _small(match.group(1)) and any(word in window for word in _DAILY):
            counted = match
            break
    fasted = _FASTED.search(text) if "吃" in text or "eaten" in text else None
    span = counted or fasted
    found = [h for h in msg.risks if h.category == "eating_disorder" and own(msg, h)]
    hits: tuple[Hit, ...] = tuple(found[:1])
    if span is not None and not found:
        hits = (synthetic(text, span.start(), span.end(), "counted restriction", "eating"),)
        if framed(msg, hits[0]) is not None:
            return out
        out.append(Finding(MODERATE, "eating_disorder", "counted_restriction", hits))
    if hits and any(word in text for word in _BODY):
        out.append(Finding(HIGH, "eating_disorder", "eating_body_failing", hits))
    return out
