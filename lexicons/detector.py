"""The risk detector: pure and deterministic, one message at a time or turn by turn.

- ``Detector.assess_turn(text, state, now)``: the pipeline's call. It reads the message once,
  combines it with the conversation's remembered risk (``ConversationRisk``, which never holds
  text), and returns the assessment with the new state to store.
- ``Detector.assess(text, window)``: the same over a list of earlier texts, all read as if
  just sent (for the CLI and the evaluations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from core.vocabulary import RiskLevel
from lexicons.analysis import Analyser, Analysis
from lexicons.conversation import ConversationRisk, Trace
from lexicons.lexicon import Lexicon, load_lexicon
from lexicons.reasons import LEVEL_NAMES, REASONS
from lexicons.rules import Finding
from lexicons.window import Combination, combinations, marks

# ``assess`` reads at most this many earlier messages, and dates them all at one instant.
WINDOW = 5
_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a span of what the student wrote and the rule or entry behind it.

    ``message`` is 0 for the assessed text and -1, -2 … for earlier messages (``text`` is
    empty for an earlier message when only the conversation's state was at hand).
    """

    start: int
    end: int
    text: str
    category: str
    rule: str
    source: str
    message: int = 0


@dataclass(frozen=True)
class RiskAssessment:
    """The detector's verdict on one message.

    ``ask`` is the grey zone: the signals are unsure, so the bot should ask the ASQ questions
    and let the student's own answer decide. ``rule`` is the rule that decided the level.
    """

    level: RiskLevel
    categories: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    explanation: str
    detector_version: str
    ask: bool = False
    rule: str = ""

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (evidence includes the student's words: keep it out of logs)."""
        return {
            "level": self.level.label,
            "categories": list(self.categories),
            "ask": self.ask,
            "rule": self.rule,
            "evidence": [
                {
                    "start": e.start,
                    "end": e.end,
                    "text": e.text,
                    "category": e.category,
                    "rule": e.rule,
                    "source": e.source,
                    "message": e.message,
                }
                for e in self.evidence
            ],
            "explanation": self.explanation,
            "detector_version": self.detector_version,
        }


@dataclass(frozen=True)
class TurnResult:
    """One turn's assessment and the conversation state to store for the next."""

    assessment: RiskAssessment
    state: ConversationRisk


class Detector:
    """A compiled lexicon with its rules; build once, call ``assess_turn`` many times."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.analyser = Analyser(lexicon)
        self.matcher = self.analyser.matcher

    def warm_up(self) -> None:
        """Load jieba's dictionary now, not on the first message."""
        self.matcher.segmenter.warm_up()

    def assess_turn(self, text: str, state: ConversationRisk | None, now: datetime) -> TurnResult:
        """Assess ``text``, sent at ``now``, in the conversation whose risk is ``state``."""
        result, _ = self._turn(text, state or ConversationRisk(), now)
        return result

    def assess(self, text: str, window: Sequence[str] = ()) -> RiskAssessment:
        """Assess ``text`` after the student's recent ``window`` (oldest first)."""
        earlier = list(window[-WINDOW:])
        state = ConversationRisk()
        for previous in earlier:
            state = self._turn(previous, state, _INSTANT)[0].state
        result, combined = self._turn(text, state, _INSTANT)
        if not combined:
            return result.assessment
        # Quote the earlier messages' words, which the state itself never holds.
        quoted = tuple(
            Evidence(
                e.start, e.end, earlier[e.message][e.start : e.end], e.category, e.rule,
                e.source, e.message,
            )
            if e.message < 0 and -e.message <= len(earlier)
            else e
            for e in result.assessment.evidence
        )  # fmt: skip
        return _replace_evidence(result.assessment, quoted)

    def _turn(self, text: str, state: ConversationRisk, now: datetime) -> tuple[TurnResult, bool]:
        analysis = self.analyser(text)
        seq = state.seen + 1
        findings = analysis.findings
        own = max((f.level for f in findings), default=RiskLevel.NONE)
        trace = Trace(seq, now, own, _categories(findings), marks(analysis))
        joint = [c for c in combinations(state, trace, now) if c.level > own]
        level = max([own, *(c.level for c in joint)])
        categories = tuple(
            sorted({*_categories(findings), *(c.category for c in joint if c.level == level)})
        )
        evidence = _evidence(findings, analysis) + _window_evidence(joint, seq)
        assessment = _verdict(level, categories, findings, joint, evidence, self.lexicon.version)
        stored = Trace(seq, now, level, categories, trace.marks)
        return TurnResult(assessment, state.added(stored, now)), bool(joint)


def _categories(findings: list[Finding]) -> tuple[str, ...]:
    return tuple(sorted({f.category for f in findings if f.level >= RiskLevel.LOW}))


def _replace_evidence(assessment: RiskAssessment, evidence: tuple[Evidence, ...]) -> RiskAssessment:
    return RiskAssessment(
        assessment.level,
        assessment.categories,
        evidence,
        assessment.explanation,
        assessment.detector_version,
        assessment.ask,
        assessment.rule,
    )


def _evidence(findings: list[Finding], analysis: Analysis) -> tuple[Evidence, ...]:
    out = []
    seen = set()
    for finding in sorted(findings, key=lambda f: -f.level):
        if finding.level is RiskLevel.NONE:
            continue
        for hit in finding.hits:
            if not analysis.owns(hit):
                continue
            start, end = analysis.span(hit)
            key = (start, end, finding.rule)
            if key in seen or start >= end:
                continue
            seen.add(key)
            out.append(
                Evidence(
                    start,
                    end,
                    analysis.text[start:end],
                    finding.category,
                    finding.rule,
                    hit.entry.source,
                )
            )
    return tuple(out)


def _window_evidence(joint: list[Combination], seq: int) -> tuple[Evidence, ...]:
    out = []
    for combination in joint:
        for number, mark in combination.marks:
            if number != seq and mark.start < mark.end:
                out.append(
                    Evidence(
                        mark.start,
                        mark.end,
                        "",
                        combination.category,
                        combination.rule,
                        f"window:{mark.kind}",
                        number - seq,
                    )
                )
    return tuple(out)


def _verdict(
    level: RiskLevel,
    categories: tuple[str, ...],
    findings: list[Finding],
    joint: list[Combination],
    evidence: tuple[Evidence, ...],
    version: str,
) -> RiskAssessment:
    top = [(f.rule, f.category) for f in findings if f.level == level and level > RiskLevel.NONE]
    top += [(c.rule, c.category) for c in joint if c.level == level]
    rules = list(dict.fromkeys(rule for rule, _ in top))
    if not top:
        return RiskAssessment(
            level, categories, evidence, "未发现风险信号 (no risk signal found)", version
        )
    reasons = "；".join(REASONS.get(rule, rule) for rule in rules)
    if joint and any(c.level == level for c in joint):
        reasons += "；" + REASONS["window"]
    explanation = (
        f"{LEVEL_NAMES[level]}风险 ({level.label}): {reasons}。类别 (categories): "
        + ", ".join(sorted({category for _, category in top}))
    )
    return RiskAssessment(level, categories, evidence, explanation, version, rule=rules[0])


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector over the packaged lexicon, built once per process."""
    return Detector(load_lexicon())


def assess(text: str, window: Sequence[str] = (), lexicon: Lexicon | None = None) -> RiskAssessment:
    """Assess one message with the packaged lexicon, or with ``lexicon`` when given."""
    detector = default_detector() if lexicon is None else _detector_for(lexicon)
    return detector.assess(text, window)


_DETECTORS: dict[int, Detector] = {}


def _detector_for(lexicon: Lexicon) -> Detector:
    key = id(lexicon)
    detector = _DETECTORS.get(key)
    if detector is None or detector.lexicon is not lexicon:
        detector = Detector(lexicon)
        _DETECTORS[key] = detector
    return detector
