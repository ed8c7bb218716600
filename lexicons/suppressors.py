"""Suppressors of the model: a frame (news, fiction, a lesson), someone else's words, a denial.

"一个明星自杀了" or "my friend said she wants to die" use the words of risk without being the
student's own. The lexicon's person and frame rules already read them (a peer report, or
nothing); the model, which sees only n-grams, must not turn them into the student's crisis.
"""

from __future__ import annotations

from core.vocabulary import RiskLevel
from lexicons.analysis import Analysis
from lexicons.rules import Message, framed, person

# Hits whose subject says whose experience a message describes.
_PERSONAL = frozenset({"death", "desire", "life", "vanish", "harm_act", "futility"})


def suppressor(analysis: Analysis, context: frozenset[str] = frozenset()) -> str | None:
    """Why the model may not raise this message, if anything: a frame or reported speech.

    ``context`` holds the cue classes still alive in the conversation: a story being talked
    about ("frame") keeps reported speech a story; an outing ("leisure")
    or a move ("moving") just mentioned explains a roof or a round of thank-yous that the
    n-grams alone would read as a crisis, unless the lexicon finds the student's own risk.

    A frame suppresses when it governs every personal hit (or the message has nothing
    personal at all); a story that ends in the student's own words is not suppressed.
    """
    people: set[str] = set()
    frames: list[str | None] = []
    for part in analysis.parts:
        for hit in part.msg.hits:
            if hit.level is not None or hit.category in _PERSONAL:
                people.add(person(part.msg, hit))
                frames.append(framed(part.msg, hit))
    if frames and all(frames):
        return frames[0]
    if not frames:
        for part in analysis.parts:
            frame = framed(part.msg)
            if frame is not None:
                return frame
    if "third" in people and not people & {"first", "none"}:
        # "did you see the news about that singer?" … "they said she took pills": someone
        # else's words, just after a story was brought up, are the story, not a friend's danger.
        return "news" if "frame" in context else "reported_speech"
    if any(part.msg.has("hypothetical") for part in analysis.parts):
        return "hypothetical"  # 如果有人吃了很多药该怎么办 / what to do if someone takes pills
    denied = any(part.negations for part in analysis.parts)
    own = any(f.level >= RiskLevel.LOW for f in analysis.findings)
    serious = any(f.level >= RiskLevel.MODERATE for f in analysis.findings)
    here = {k for k in ("leisure", "moving") if any(p.msg.has(k) for p in analysis.parts)}
    explained = (here | context) & {"leisure", "moving"}
    if explained and not serious:
        return sorted(explained)[0]
    if not serious and any(_dose_for_ailment(p.msg) for p in analysis.parts):
        return "ailment"  # 头疼吃了两片布洛芬: a usual dose for a headache, not an overdose
    if denied and not own:
        return "negated"  # 我从来没想过自杀: the lexicon read the denial; the n-grams cannot
    return None


# Words that make a dose more than a usual one, or not yet taken ("want to take them all").
_MORE_THAN_A_DOSE = ("全", "整", "所有", "都吃", "瓶", "盒", "板", "all", "whole", "entire",
                     "bottle", "pack", "box", "strip")  # fmt: skip


def _dose_for_ailment(msg: Message) -> bool:
    """Medicine taken for an everyday ailment: no count of ten or more, no whole box, no wish."""
    medicine = any(h.category == "means_method" for h in msg.risks)
    return (
        medicine
        and msg.has("ailment")
        and msg.has("completion")
        and not msg.has("quantity")
        and not msg.has("desire")
        and not any(word in msg.text for word in _MORE_THAN_A_DOSE)
    )
