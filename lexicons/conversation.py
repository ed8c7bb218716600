"""A student's risk across messages: what each recent message contributed, and for how long.

``ConversationRisk`` is the detector's memory of a conversation. It holds, for each recent
message that said something, its analysis (level, categories, the cue classes the
cross-message rules combine, with their spans, and the model's score), never the text. It is
frozen, bounded in size, serialisable, and it decays: each cue class counts for its own
lifetime, so a plan two days ago still counts and a passing remark an hour ago does not.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.vocabulary import RISK_CATEGORIES, RiskLevel

FORMAT = 1
# At most this many messages are remembered (the newest), and so many marks per message.
MAX_TRACES = 16
MAX_MARKS = 32

_H = timedelta(hours=1)
# How long each cue class counts after it was said. A plan, means or a wish to die counts
# for three days; a time or a bland "see you then" only while it can still refer to the plan.
LIFETIME: dict[str, timedelta] = {
    "active": 72 * _H,  # a wish or intent to die
    "ideation": 72 * _H,  # any wish to be dead, passive included
    "plan": 72 * _H,  # a plan or preparation
    "means": 72 * _H,  # an object that can be a means (药, rope, a roof door that opens)
    "lethal": 72 * _H,  # means of their own weight (安眠药, charcoal, a high place)
    "hoard": 72 * _H,  # pills saved up
    "quantity": 72 * _H,  # a counted dose
    "resolve": 72 * _H,  # 我想好了, made up my mind
    "pact": 72 * _H,  # dying together
    "farewell": 72 * _H,  # a goodbye that means more than "bye"
    "giving_away": 72 * _H,  # belongings given away, a pet entrusted
    "scheduled": 72 * _H,  # a message set to post later
    "self_harm": 72 * _H,  # recent self-harm
    "timing": 48 * _H,  # tonight, on Friday, after the exam
    "method_search": 48 * _H,  # asking how, how high, how many
    "taken": 24 * _H,  # means swallowed or used
    "passive": 24 * _H,  # a passive wish
    "hopeless": 24 * _H,
    "burden": 24 * _H,
    "isolation": 24 * _H,
    "distress": 12 * _H,
    "alone": 12 * _H,  # nobody home, alone till morning
    "now": 2 * _H,  # right now, 现在
    "symptom": 2 * _H,  # dizzy, sleepy, bleeding
    "goodbye": 2 * _H,  # 晚安, bye, 不聊了
    "then": 2 * _H,  # 到时候见, see you there
    "thanks": 2 * _H,  # thank you for everything
    "fixation": 2 * _H,  # staring at the knife
    "edge": 2 * _H,  # the wind, looking down, over the railing
    "relapse": 24 * _H,  # 又没忍住: self-harm again, said without the act
    "hurt": 72 * _H,  # hurt by someone: bullying, abuse, sexual abuse, grooming
    "peer_risk": 24 * _H,  # a friend's wish to die, means, goodbye or belongings given away
    "peer_gone": 2 * _H,  # a friend who cannot be reached
    "family_means": 48 * _H,  # a parent's pills, within the student's reach
    "height_question": 2 * _H,  # how many floors, how high (asked)
    "certainty": 2 * _H,  # to be sure, not survive, 才能确定
    "peer_goodbye": 2 * _H,  # a friend who just said bye (she just said bye)
    "peer_thanks": 2 * _H,  # a friend who just thanked the student for everything
    "peer_intent": 72 * _H,  # a friend who said they want to die or will kill themself
    "peer_parting": 24 * _H,  # a friend handing over her things (she gave me her necklace)
    "consumed": 2 * _H,  # swallowed or drank something, means unnamed (喝了一口)
    "caustic": 2 * _H,  # burning mouth or throat
    "prepared": 48 * _H,  # 东西都准备好了, got everything ready
    "earnest": 2 * _H,  # 不是开玩笑, not joking
    "meeting": 72 * _H,  # an adult arranging to meet
    "pact_hint": 72 * _H,  # "for both of us", 一起走吧: a pact in the making
    "arranged": 72 * _H,  # 我们约好了, we agreed: a meeting arranged with someone
    "their_means": 72 * _H,  # someone else bringing the means (她会带药)
    "leisure": 2 * _H,  # an outing: stargazing on the roof
    "moving": 72 * _H,  # moving school or city: giving things away is not a farewell
    "frame": timedelta(minutes=30),  # a news story, a film, a lesson being talked about
}
KINDS = frozenset(LIFETIME)
# How long a message's own level still describes the conversation.
LEVEL_LIFETIME = {
    RiskLevel.IMMINENT: 72 * _H,
    RiskLevel.HIGH: 72 * _H,
    RiskLevel.MODERATE: 24 * _H,
    RiskLevel.LOW: 6 * _H,
    RiskLevel.NONE: timedelta(0),
}


_TOP = {"format", "seen", "traces"}


class ConversationStateError(ValueError):
    """A stored conversation state cannot be read; the message says why (never its content)."""


@dataclass(frozen=True)
class Mark:
    """A cue class a message contributed, and its span [start, end) in that message."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Trace:
    """One earlier message's analysis (``seq``: its number in the conversation; ``score``: the
    model's probability that it is at least moderate)."""

    seq: int
    at: datetime
    level: RiskLevel
    categories: tuple[str, ...]
    marks: tuple[Mark, ...]
    score: float = 0.0

    def alive(self, now: datetime) -> tuple[Mark, ...]:
        """The marks that still count at ``now``."""
        age = max(now - self.at, timedelta(0))
        return tuple(m for m in self.marks if age <= LIFETIME[m.kind])

    def current(self, now: datetime) -> RiskLevel:
        """The message's level, if it still describes the conversation at ``now``."""
        age = max(now - self.at, timedelta(0))
        return self.level if age <= LEVEL_LIFETIME[self.level] else RiskLevel.NONE


@dataclass(frozen=True)
class ConversationRisk:
    """The conversation's risk memory: messages seen, and the recent ones that said something."""

    seen: int = 0
    traces: tuple[Trace, ...] = ()

    def recent(self, now: datetime, count: int, within: timedelta) -> tuple[Trace, ...]:
        """The last ``count`` remembered messages sent within ``within`` before ``now``."""
        return tuple(t for t in self.traces[-count:] if now - t.at <= within)

    def level_at(self, now: datetime) -> RiskLevel:
        """The most serious level that still describes the conversation at ``now``."""
        return max((t.current(now) for t in self.traces), default=RiskLevel.NONE)

    def added(self, trace: Trace, now: datetime) -> ConversationRisk:
        """This state with ``trace`` remembered, the expired and the oldest forgotten."""
        kept = [t for t in (*self.traces, trace) if t.alive(now) or t.current(now)]
        return replace(self, seen=max(self.seen, trace.seq), traces=tuple(kept[-MAX_TRACES:]))

    def to_json(self) -> str:
        """Compact JSON (no text of the student's: kinds, spans, levels, times)."""
        return json.dumps(
            {
                "format": FORMAT,
                "seen": self.seen,
                "traces": [
                    {
                        "seq": t.seq,
                        "at": t.at.isoformat(),
                        "level": t.level.label,
                        "categories": list(t.categories),
                        "marks": [[m.kind, m.start, m.end] for m in t.marks],
                        "score": t.score,
                    }
                    for t in self.traces
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str) -> ConversationRisk:
        """Read a stored state.

        Raises:
            ConversationStateError: on anything malformed, with the reason.
        """
        try:
            raw = json.loads(data)
        except (TypeError, ValueError):
            raise ConversationStateError("conversation risk state: not JSON") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT or set(raw) != _TOP:
            raise ConversationStateError(f"conversation risk state: expected format {FORMAT}")
        seen, traces = raw.get("seen"), raw.get("traces")
        if not isinstance(seen, int) or not _count(seen):
            raise ConversationStateError("conversation risk state: bad 'seen'")
        if not isinstance(traces, list) or len(traces) > MAX_TRACES:
            raise ConversationStateError("conversation risk state: bad 'traces'")
        read = tuple(_trace(item, index) for index, item in enumerate(traces))
        if any(t.seq > seen for t in read) or any(
            a.seq >= b.seq for a, b in itertools.pairwise(read)
        ):
            raise ConversationStateError("conversation risk state: messages out of order")
        return cls(seen, read)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _trace(item: object, index: int) -> Trace:
    where = f"conversation risk state: traces[{index}]"
    if not isinstance(item, dict) or set(item) != {
        "seq", "at", "level", "categories", "marks", "score"
    }:  # fmt: skip
        raise ConversationStateError(f"{where}: expected seq, at, level, categories, marks, score")
    seq, score, categories, marks = item["seq"], item["score"], item["categories"], item["marks"]
    try:
        at = datetime.fromisoformat(item["at"])
        level = RiskLevel.parse(item["level"])
    except (TypeError, ValueError, KeyError, AttributeError):
        raise ConversationStateError(f"{where}: bad time or level") from None
    if at.tzinfo is None or not _count(seq) or seq == 0:
        raise ConversationStateError(f"{where}: bad time or sequence number")
    if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
        raise ConversationStateError(f"{where}: bad score")
    if (
        not isinstance(categories, list)
        or not all(isinstance(c, str) for c in categories)
        or not set(categories) <= RISK_CATEGORIES
    ):
        raise ConversationStateError(f"{where}: unknown category")
    if not isinstance(marks, list) or len(marks) > MAX_MARKS:
        raise ConversationStateError(f"{where}: bad marks")
    read = []
    for mark in marks:
        if (
            not isinstance(mark, list)
            or len(mark) != 3
            or not isinstance(mark[0], str)
            or mark[0] not in KINDS
            or not _count(mark[1])
            or not _count(mark[2])
            or mark[1] > mark[2]
        ):
            raise ConversationStateError(f"{where}: bad mark")
        read.append(Mark(mark[0], mark[1], mark[2]))
    return Trace(seq, at, level, tuple(categories), tuple(read), float(score))
