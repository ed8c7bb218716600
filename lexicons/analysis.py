"""One message read by the lexicon: findings, combinable features, and where each hit lies.

A message up to ``segments.WHOLE`` characters is read whole. A longer one is read in the few
segments ``segments.choose`` picks, each on its own, and their features are combined as if
they were one message, so means in one part and a time in another still make a plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from core.vocabulary import RiskLevel
from lexicons.combinations import Features, combine, features
from lexicons.eating import eating_rules
from lexicons.ideation import ideation_rules, in_earnest
from lexicons.lexicon import Lexicon
from lexicons.matching import Hit, Matcher
from lexicons.means import means_rules
from lexicons.normalize import Normalized
from lexicons.pacts import pact_rules
from lexicons.peers import peer_rules
from lexicons.rules import IDEATION, MODERATE, Finding, Message, standalone
from lexicons.safeguarding import safeguarding_rules
from lexicons.segments import SEGMENT, WHOLE, Segment, choose

# The most normalised characters one segment of a long message is read as.
_EXPANDED = 2 * SEGMENT


@dataclass(frozen=True)
class Part:
    """One segment of the message (the whole message when it is short), read in full."""

    offset: int
    normalized: Normalized
    msg: Message
    findings: list[Finding]
    feats: Features
    suppressors: tuple[Hit, ...] = ()
    negations: tuple[Hit, ...] = ()  # self-directed hits the student denied (我不会自杀)


@dataclass
class Analysis:
    """Everything the lexicon found in one message."""

    text: str
    parts: list[Part]
    findings: list[Finding]
    _where: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def level(self) -> RiskLevel:
        """The most serious finding's level."""
        return max((f.level for f in self.findings), default=RiskLevel.NONE)

    @cached_property
    def normalized(self) -> str:
        """The normalised text of what was read (segments joined by a line break)."""
        # Read three times per message (length, language, n-grams): joined once.
        return "\n".join(p.normalized.text for p in self.parts)

    def span(self, hit: Hit) -> tuple[int, int]:
        """Where ``hit`` lies in the original text; (0, 0) for a hit of another message."""
        return self._where.get(id(hit), (0, 0))

    def owns(self, hit: Hit) -> bool:
        """Whether ``hit`` was found in this message."""
        return id(hit) in self._where


class Analyser:
    """The lexicon's rules over one message; build once per lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.matcher = Matcher(lexicon)

    def __call__(self, text: str) -> Analysis:
        """Read ``text`` (bounded work, however long it is)."""
        spans = [Segment(0, len(text))] if len(text) <= WHOLE else choose(self.lexicon, text)
        bounded = len(spans) > 1 or len(text) > WHOLE
        parts = [self._part(text[s.start : s.end], s.start, bounded) for s in spans]
        findings = [f for p in parts for f in p.findings]
        if len(parts) > 1:
            findings += combine([p.feats for p in parts])
        where: dict[int, tuple[int, int]] = {}
        for part in parts:
            for hit in part.msg.hits:
                start, end = part.normalized.original_span(hit.start, hit.end)
                where[id(hit)] = (start + part.offset, end + part.offset)
        return Analysis(text, parts, findings, where)

    def _part(self, text: str, offset: int, bounded: bool) -> Part:
        normalized = self.lexicon.normalizer(text)
        if bounded and len(normalized.text) > _EXPANDED:
            # Slang can expand a segment (💊 → " pills "): the rules read a bounded part of it.
            normalized = Normalized(
                normalized.text[:_EXPANDED],
                normalized.starts[:_EXPANDED],
                normalized.ends[:_EXPANDED],
            )
        hits, suppressors = self.matcher.scan(normalized.text)
        msg = Message(normalized.text, hits)
        findings, live, negations = standalone(msg)
        findings += ideation_rules(msg)
        findings += in_earnest(msg, findings)
        findings += means_rules(msg)
        findings += safeguarding_rules(msg)
        findings += peer_rules(msg)
        findings += pact_rules(msg)
        findings += eating_rules(msg)
        feats = features(msg, live, findings)
        findings += combine([feats], msg)
        findings += _ambivalence(msg, negations, findings)
        return Part(offset, normalized, msg, findings, feats, tuple(suppressors), tuple(negations))


_NEVER = ("从没", "从来没", "从未", "从来不", "never")


def _ambivalence(msg: Message, negations: list[Hit], findings: list[Finding]) -> list[Finding]:
    """我不想死，可是好痛苦: a negated wish to die next to pain.

    Despair (a passive wish, hopelessness) beside the denial is ambivalence on its own ("I
    don't want to kill myself, I just want the pain to stop"); everyday distress counts only
    with a "but", so "I'd never kill myself, just stressed" stays quiet.
    """
    if not negations:
        return []
    despair = ("hopelessness", *IDEATION)
    # 我从没想过自杀，只是好烦: a denial that it ever crossed their mind, then everyday
    # stress, is not ambivalence; 我不想死，可是好痛苦 is.
    cues = [msg.before(n, "negation", 3) for n in negations]
    never = any(c is not None and c.entry.pattern.startswith(_NEVER) for c in cues)
    kinds = (*despair, "distress") if msg.has("contrast") and not never else despair
    suffering = [f for f in findings if f.category in kinds]
    if not suffering:
        return []
    return [Finding(MODERATE, "ambivalence", "ambivalence", (negations[0], *suffering[0].hits))]
