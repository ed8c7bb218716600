"""Suppressors of the model: a frame (news, fiction, a lesson) or someone else's words.

"一个明星自杀了" or "my friend said she wants to die" use the words of risk without being the
student's own. The lexicon's person and frame rules already read them (a peer report, or
nothing); the model, which sees only n-grams, must not turn them into the student's crisis.
"""

from __future__ import annotations

from lexicons.analysis import Analysis
from lexicons.rules import framed, person

# Hits whose subject says whose experience a message describes.
_PERSONAL = frozenset({"death", "desire", "life", "vanish", "harm_act", "futility"})


def suppressor(analysis: Analysis) -> str | None:
    """Why the model may not raise this message, if anything: a frame or reported speech."""
    people: set[str] = set()
    for part in analysis.parts:
        frame = framed(part.msg)
        if frame is not None:
            return frame
        for hit in part.msg.hits:
            if hit.level is not None or hit.category in _PERSONAL:
                people.add(person(part.msg, hit))
    if "third" in people and not people & {"first", "none"}:
        return "reported_speech"
    return None
