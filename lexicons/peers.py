"""A friend in danger: how serious a peer report is, by what the friend said and did.

The standalone rules make any third-person risk a moderate peer report ("my friend said she
wants to die"). These rules raise it: a friend who has got the means, made a plan or said
goodbye is high; one doing it now, or who said goodbye and cannot be reached, is imminent
("she sent a photo of pills and 'bye' and isn't answering"). The level is the friend's
danger; ``flows.triage`` opens a case about the friend, never the student's own crisis.
"""

from __future__ import annotations

from lexicons.matching import Hit
from lexicons.rules import HIGH, IMMINENT, Finding, Message, framed, person

_DANGER = frozenset({
    "active_ideation", "plan", "means_method", "attempt", "location", "farewell", "self_harm",
    "suicide_pact",
})  # fmt: skip
_NOW = ("timing_now", "unreachable", "edge")
_WAYS = frozenset({"plan", "means_method", "attempt", "location", "self_harm"})


def _theirs(msg: Message, hit: Hit) -> bool:
    return person(msg, hit) == "third" and framed(msg, hit) is None


def peer_rules(msg: Message) -> list[Finding]:
    """Peer reports raised to high or imminent by what the friend is doing."""
    if msg.has("hypothetical"):
        return []
    theirs = [h for h in msg.risks if h.category in _DANGER and _theirs(msg, h)]
    gave = [h for h in msg.cues.get("give_away", ()) if _theirs(msg, h)]
    wish = [h for h in theirs if h.category in ("active_ideation", "suicide_pact")]
    ways = [h for h in theirs if h.category in _WAYS]
    # 她发了张药的照片说拜拜: a friend's everyday goodbye counts beside the means or no answer.
    said_bye = [
        h for k in ("goodbye", "thanks") for h in msg.cues.get(k, ()) if person(msg, h) == "third"
    ]
    farewell = [h for h in theirs if h.category == "farewell"] + gave + said_bye
    if not theirs and not gave:
        return []
    now = next((c for k in _NOW for c in msg.cues.get(k, ())), None)
    # A way to die or a goodbye is the friend's danger only beside a wish, another sign, or
    # news that they cannot be reached: 我奶奶吃了好多药 is an illness, not a peer report.
    hurt = [h for h in msg.cues.get("symptom", ()) if person(msg, h) in ("third", "none")]
    danger = farewell + ways if (wish or farewell or hurt) else []
    if now is not None and (danger or wish):
        return [Finding(IMMINENT, "peer_concern", "peer_in_danger_now", ((danger + wish)[0], now))]
    if hurt and ways:
        # 我妹割得很深 流了好多血: the friend is bleeding or poisoned now.
        return [Finding(IMMINENT, "peer_concern", "peer_in_danger_now", (ways[0], hurt[0]))]
    if farewell and (wish or ways or len(farewell) >= 2):
        return [
            Finding(
                HIGH, "peer_concern", "peer_farewell", (farewell[0], (wish + ways + farewell)[-1])
            )
        ]
    plan = [h for h in theirs if h.category in ("plan", "suicide_pact")]
    if wish and (ways or plan or msg.has("resolve") or msg.has("timing_soon")):
        return [Finding(HIGH, "peer_concern", "peer_intent", (wish[0], (ways + plan + wish)[-1]))]
    return []
