"""A readable breakdown of one assessment, for ``heartguard risk explain`` (counselors' words
are quoted: never send this to a log)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lexicons.detector import Detector, Evidence, RiskAssessment
from lexicons.features import features, language
from lexicons.suppressors import suppressor


def explain(detector: Detector, text: str, window: Sequence[str] = ()) -> str:
    """The level and why: the lexicon's evidence, the window's part, the model's n-grams and
    score, and the rule of the combination policy that decided."""
    result = detector.assess(text, window)
    analysis = detector.analyser(text)
    lines = [
        f"level:       {result.level.label}",
        f"categories:  {', '.join(result.categories) or '-'}",
        f"decided by:  {result.rule or '-'}",
        f"ask (ASQ):   {'yes, the signals are unsure' if result.ask else 'no'}",
        f"explanation: {result.explanation}",
        f"normalised:  {analysis.normalized}",
        "lexicon:",
    ]
    lines += _evidence(result, lambda e: e.message == 0 and e.rule != "model") or ["  -"]
    lines.append("window (earlier messages):")
    lines += _evidence(result, lambda e: e.message < 0) or ["  -"]
    lines.append("model:")
    model = detector.model
    if model is None:
        lines.append("  (no model loaded)")
    elif result.model is None:
        lines.append("  (too short for the model to judge: the lexicon alone decides)")
    else:
        score = model.score(features(analysis))
        lang = language(analysis.normalized)
        limits = model.thresholds_for(lang)
        moderate, high = result.model
        lines.append(
            f"  P(>= moderate) {moderate:.2f} (raises at {limits.moderate:.2f}, asks from"
            f" {limits.ask:.2f}); P(>= high) {high:.2f} (raises at {limits.high:.2f}) [{lang}]"
        )
        top = model.top(score)
        lines.append(
            "  top n-grams: " + (", ".join(f"{f!r} {w:+.2f}" for f, w in top) if top else "-")
        )
        lines += _evidence(result, lambda e: e.rule == "model")
        blocked = suppressor(analysis)
        if blocked is not None:
            lines.append(f"  suppressed: {blocked} (the model may not raise this message)")
    lines.append(f"detector:    {result.detector_version}")
    return "\n".join(lines)


def _evidence(result: RiskAssessment, keep: Callable[[Evidence], bool]) -> list[str]:
    out = []
    for ev in result.evidence:
        if not keep(ev):
            continue
        where = "this message" if ev.message == 0 else f"message {ev.message}"
        out.append(
            f"  [{ev.start}:{ev.end}] {ev.text!r} ({where}) {ev.category} via {ev.rule}"
            f" <- {ev.source}"
        )
    return out
