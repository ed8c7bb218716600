"""Ideation built from parts: a wish plus death or non-existence, life plus futility.

Lists of whole phrases miss the next way a student says it; these rules combine small cue
classes from the lexicon instead, so 好想消失 / 要是我不在了 / 活着到底有什么意思 /
I wish I'd never been born are caught without each being listed.
"""

from __future__ import annotations

from lexicons.matching import Hit, gap
from lexicons.rules import (
    HIGH,
    LOW,
    MODERATE,
    Finding,
    Message,
    earnest,
    framed,
    negated,
    own,
    person,
)

END_OF_WISH = ("vanish", "death")
# Negation cues that already hold the wish: 不打算再活, 不要活了, do not want to live.
_NEGATED_WISH = ("打算", "想", "要", "愿意", "want to", "wanna")


def _tone(msg: Message, hit: Hit, level: str) -> tuple[str, str]:
    if level == "high" and not msg.has("sincerity"):
        if msg.in_clause("hedge", hit.clause):
            return "moderate", "_hedged"
        if msg.has("joke"):
            return "low", "_joking"
    return level, ""


def _better_without_me(msg: Message, end: Hit) -> Hit | None:
    """没有我，他们应该会过得更好吧: "without me" reaches on, past a comma, for "better"."""
    if not end.entry.pattern.startswith(("没有我", "without me")):
        return None
    for better in msg.cues.get("better_off", ()):
        if better.start >= end.end and gap(msg.text, end.end, better.start) <= 10:
            return better
    return None


def ideation_rules(msg: Message) -> list[Finding]:
    """Active and passive ideation from cue combinations."""
    out: list[Finding] = []
    resolved = msg.has("resolve")
    for category in END_OF_WISH:
        for end in msg.cues.get(category, ()):
            if (
                category == "death"
                and resolved
                and own(msg, end)
                and not msg.before(end, "desire", 3)
            ):
                # 我想好了，就这么定了，去死: resolve plus death is intent without a "want".
                out.append(
                    Finding(
                        HIGH, "active_ideation", "resolved_to_die", (msg.cues["resolve"][0], end)
                    )
                )
                continue
            pushed = msg.before(end, "instigation", 3)
            if pushed is not None and category == "death":
                out.append(Finding(MODERATE, "bullying", "told_to_die", (pushed, end)))
                continue
            if not own(msg, end):
                continue
            desire = msg.before(end, "desire", 3)
            if desire is not None and person(msg, desire) == "third":
                continue  # "my brother wants to kill me": his wish about the student, not hers
            if desire is not None and negated(msg, desire) is None:
                if msg.before(desire, "negation", 1) is not None:
                    continue
                instigation = msg.before(desire, "instigation", 2)
                if instigation is not None:
                    out.append(Finding(MODERATE, "bullying", "told_to_die", (instigation, end)))
                    continue
                if category == "death":
                    tone, suffix = _tone(msg, end, "high")
                    out.append(
                        Finding(
                            {"high": HIGH, "moderate": MODERATE}.get(tone, LOW),
                            "active_ideation",
                            "desire_plus_death" + suffix,
                            (desire, end),
                        )
                    )
                else:
                    lvl = HIGH if resolved else MODERATE
                    out.append(Finding(lvl, "passive_ideation", "wish_to_vanish", (desire, end)))
                continue
            wish = msg.before(end, "conditional", 4)
            if wish is not None and msg.between(wish, end, ("first_person",)):
                out.append(Finding(MODERATE, "passive_ideation", "if_i_were_gone", (wish, end)))
                continue
            dwell = msg.near(end, "rumination", 4)
            if dwell is not None:
                out.append(
                    Finding(MODERATE, "passive_ideation", "preoccupied_with_death", (dwell, end))
                )
                continue
            better = msg.near(end, "better_off", 4) or _better_without_me(msg, end)
            if better is not None and better.start >= end.start:
                out.append(Finding(MODERATE, "passive_ideation", "better_off_dead", (end, better)))
    for life in msg.cues.get("life", ()):
        # Negation is the point here (不想活), so only person and framing are checked.
        if person(msg, life) not in ("first", "none") or framed(msg, life) is not None:
            continue
        desire = msg.before(life, "desire", 3)
        negation = msg.before(desire, "negation", 3) if desire is not None else None
        if desire is not None and negation is not None:
            lvl = HIGH if resolved else MODERATE
            out.append(
                Finding(lvl, "passive_ideation", "not_want_to_live", (negation, desire, life))
            )
            continue
        refusal = msg.before(life, "negation", 3)
        if refusal is not None and refusal.entry.pattern.endswith(_NEGATED_WISH):
            out.append(
                Finding(
                    HIGH if resolved else MODERATE,
                    "passive_ideation",
                    "not_want_to_live",
                    (refusal, life),
                )
            )
            continue
        futile = msg.near(life, "futility", 5)
        if futile is not None and negated(msg, futile) is None:
            out.append(Finding(MODERATE, "passive_ideation", "life_is_futile", (life, futile)))
    return out


def in_earnest(msg: Message, findings: list[Finding]) -> list[Finding]:
    """不想活了，这次不是说说而已: a passive wish said in earnest is treated as a wish to die."""
    if not earnest(msg):
        return []
    for finding in findings:
        if (
            finding.category in ("passive_ideation", "active_ideation")
            and finding.level == MODERATE
        ):
            return [Finding(HIGH, "active_ideation", "ideation_in_earnest", finding.hits)]
    return []
