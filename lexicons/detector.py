"""The risk detector: pure and deterministic, one message at a time or turn by turn.

- ``Detector.assess_turn(text, state, now)``: the pipeline's call. It reads the message once,
  combines it with the conversation's remembered risk (``ConversationRisk``, which never holds
  text), and returns the assessment with the new state to store.
- ``Detector.assess(text, window)``: the same over a list of earlier texts, all read as if
  just sent (for the CLI and the evaluations).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from core.vocabulary import RiskLevel
from lexicons.analysis import Analyser, Analysis
from lexicons.conversation import ConversationRisk, Trace
from lexicons.features import judgeable, known_features, language
from lexicons.lexicon import Lexicon, load_lexicon
from lexicons.model import Model, Score, load_model
from lexicons.policy import Opinion, Verdict, decide
from lexicons.reasons import LEVEL_NAMES, REASONS
from lexicons.rules import Finding
from lexicons.suppressors import suppressor
from lexicons.window import Combination, Pool, alive_pool, combinations, marks

# Findings about someone else, which a story introduced just before keeps a story.
_ABOUT_OTHERS = frozenset({"third_person", "peer_intent", "peer_farewell", "peer_in_danger_now"})
# The model's evidence adds up over the last few messages of the last few hours.
EVIDENCE_MESSAGES, EVIDENCE_WITHIN = 6, timedelta(hours=6)
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
    and let the student's own answer decide. ``rule`` is the rule that decided the level;
    ``model`` the learned model's probabilities of at least moderate and at least high.
    """

    level: RiskLevel
    categories: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    explanation: str
    detector_version: str
    ask: bool = False
    rule: str = ""
    model: tuple[float, float] | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (evidence includes the student's words: keep it out of logs)."""
        return {
            "level": self.level.label,
            "categories": list(self.categories),
            "ask": self.ask,
            "rule": self.rule,
            "model": None
            if self.model is None
            else {"moderate": self.model[0], "high": self.model[1]},
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
    """The lexicon's rules and the learned model; build once, call ``assess_turn`` many times.

    ``model=None`` makes a lexicon-only detector, for comparisons only: ``default_detector``
    always loads the packaged model, and refuses to start without it.
    """

    def __init__(self, lexicon: Lexicon, model: Model | None) -> None:
        self.lexicon = lexicon
        self.model = model
        self.analyser = Analyser(lexicon)
        self.matcher = self.analyser.matcher
        self.version = lexicon.version + (
            "" if model is None else f"+m{str(model.meta.get('corpus_sha256', ''))[:8]}"
        )

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
        result, combined = self._turn(text, state, _INSTANT, remember=False)
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

    def _turn(
        self, text: str, state: ConversationRisk, now: datetime, *, remember: bool = True
    ) -> tuple[TurnResult, bool]:
        """Assess one turn; ``remember=False`` when the new state will be thrown away."""
        analysis = self.analyser(text)
        seq = state.seen + 1
        findings = analysis.findings
        earlier = alive_pool(state, now)
        if "frame" in earlier:
            # "did you see the news about that actor?" … "they said he took an overdose":
            # someone else's story, a minute after it was introduced, is still the story.
            findings = [f for f in findings if f.rule not in _ABOUT_OTHERS]
        own = max((f.level for f in findings), default=RiskLevel.NONE)
        lexical = _categories(findings)
        needed = remember or bool(state.traces)
        trace = Trace(seq, now, own, lexical, marks(analysis) if needed else ())
        joint = [c for c in combinations(earlier, trace) if c.level > own]
        window = max((c.level for c in joint), default=RiskLevel.NONE)
        score = (
            self.model.score(known_features(analysis, self.model))
            if self.model is not None and judgeable(analysis.normalized)
            else None
        )
        verdict = self._verdict(own, window, lexical, score, analysis, state, now, earlier)
        level = verdict.level
        categories = {*lexical, *(c.category for c in joint if c.level == level)}
        evidence = _evidence(findings, analysis) + _window_evidence(joint, seq)
        if verdict.by_model and score is not None and self.model is not None:
            peer = verdict.rule == "model_peer"
            category = "peer_concern" if peer else self.model.category(score)
            categories.add(category)
            evidence += _model_evidence(self.model, score, analysis, category)
        assessment = _assessment(
            verdict, tuple(sorted(categories)), findings, joint, evidence, self.version, score
        )
        if not remember:
            return TurnResult(assessment, state), bool(joint)
        moderate = 0.0 if score is None else round(score.moderate, 4)
        stored = Trace(seq, now, level, assessment.categories, trace.marks, moderate)
        return TurnResult(assessment, state.added(stored, now)), bool(joint)

    def _verdict(
        self,
        own: RiskLevel,
        window: RiskLevel,
        categories: tuple[str, ...],
        score: Score | None,
        analysis: Analysis,
        state: ConversationRisk,
        now: datetime,
        alive: Pool,
    ) -> Verdict:
        model = self.model
        if model is None:
            level = max(own, window)
            return Verdict(level, "window" if window > own else "lexicon", False)
        thresholds = model.thresholds_for(language(analysis.normalized))
        if score is None:
            # Too short for the model: the lexicon decides, its grey categories still ask.
            return decide(own, window, categories, Opinion(0.0, 0.0), thresholds, lambda: None)
        current = model.evidence(score.moderate)
        earlier = [
            model.evidence(t.score)
            for t in state.recent(now, EVIDENCE_MESSAGES - 1, EVIDENCE_WITHIN)
        ]
        # Only a message that adds evidence of its own, after one that did, can tip the
        # conversation over: a single message is the single-message thresholds' business.
        accumulated = current + sum(earlier) if current and any(earlier) else 0.0
        opinion = Opinion(score.moderate, score.high, accumulated)

        def why_not() -> str | None:
            return suppressor(analysis, frozenset(alive))

        return decide(own, window, categories, opinion, thresholds, why_not)


def _categories(findings: list[Finding]) -> tuple[str, ...]:
    return tuple(sorted({f.category for f in findings if f.level >= RiskLevel.LOW}))


def _replace_evidence(assessment: RiskAssessment, evidence: tuple[Evidence, ...]) -> RiskAssessment:
    return dataclasses.replace(assessment, evidence=evidence)


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


def _model_evidence(
    model: Model, score: Score, analysis: Analysis, category: str
) -> tuple[Evidence, ...]:
    """The model's top n-grams, located in what the student wrote."""
    out = []
    for feature, _weight in model.top(score):
        gram = feature[2:] if feature.startswith("w:") else feature
        if feature.startswith("cue:") or ("_" in gram and feature.startswith("w:")):
            continue
        for part in analysis.parts:
            found = part.normalized.text.find(gram.strip())
            if found >= 0:
                start, end = part.normalized.original_span(found, found + len(gram.strip()))
                start, end = start + part.offset, end + part.offset
                if start < end:
                    out.append(
                        Evidence(
                            start, end, analysis.text[start:end], category, "model",
                            f"model:{feature}",
                        )
                    )  # fmt: skip
                break
    return tuple(out)


def _assessment(
    verdict: Verdict,
    categories: tuple[str, ...],
    findings: list[Finding],
    joint: list[Combination],
    evidence: tuple[Evidence, ...],
    version: str,
    score: Score | None,
) -> RiskAssessment:
    level = verdict.level
    model = None if score is None else (round(score.moderate, 4), round(score.high, 4))
    if verdict.by_model:
        reasons = [REASONS[verdict.rule]]
        top = sorted(set(categories))
    else:
        pairs = [(f.rule, f.category) for f in findings if f.level == level]
        pairs += [(c.rule, c.category) for c in joint if c.level == level]
        pairs = pairs if level > RiskLevel.NONE else []
        reasons = [REASONS.get(rule, rule) for rule in dict.fromkeys(r for r, _ in pairs)]
        if any(c.level == level for c in joint):
            reasons.append(REASONS["window"])
        top = sorted({category for _, category in pairs})
    rule = verdict.rule
    if not reasons:
        explanation = "未发现风险信号 (no risk signal found)"
    else:
        explanation = (
            f"{LEVEL_NAMES[level]}风险 ({level.label}): {'；'.join(reasons)}。类别 (categories): "
            + ", ".join(top)
        )
        if verdict.rule in ("lexicon", "window"):
            firsts = [f.rule for f in findings if f.level == level]
            firsts += [c.rule for c in joint if c.level == level]
            rule = firsts[0] if firsts else verdict.rule
    if verdict.ask:
        explanation += "；信号不确定，请学生回答筛查问题 (unsure: ask the screening questions)"
    return RiskAssessment(
        level, categories, evidence, explanation, version, verdict.ask, rule, model
    )


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector over the packaged lexicon and model, built once per process.

    Raises:
        LexiconError: a lexicon file is malformed.
        ModelError: the model file is missing, corrupt or of another format.
    """
    return Detector(load_lexicon(), load_model())


def assess(text: str, window: Sequence[str] = (), lexicon: Lexicon | None = None) -> RiskAssessment:
    """Assess one message with the packaged lexicon, or with ``lexicon`` when given."""
    detector = default_detector() if lexicon is None else _detector_for(lexicon)
    return detector.assess(text, window)


_DETECTORS: dict[int, Detector] = {}


def _detector_for(lexicon: Lexicon) -> Detector:
    key = id(lexicon)
    detector = _DETECTORS.get(key)
    if detector is None or detector.lexicon is not lexicon:
        detector = Detector(lexicon, default_detector().model)
        _DETECTORS[key] = detector
    return detector
