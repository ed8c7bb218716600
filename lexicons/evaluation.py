"""Scoring the detector against a labelled set (``heartguard risk eval``)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import HeartGuardError
from core.vocabulary import RiskLevel


class EvalFileError(HeartGuardError, ValueError):
    """The labelled file cannot be used; the message says why."""


@dataclass(frozen=True)
class Example:
    """A labelled message."""

    ident: str
    gold: RiskLevel
    text: str
    tag: str = ""


@dataclass
class Report:
    """Metrics in the order that matters (eval/README.md)."""

    total: int = 0
    confusion: dict[tuple[RiskLevel, RiskLevel], int] = field(default_factory=dict)
    misses: list[tuple[Example, RiskLevel]] = field(default_factory=list)

    def _count(self, gold: Callable[[RiskLevel], bool], pred: Callable[[RiskLevel], bool]) -> int:
        return sum(n for (g, p), n in self.confusion.items() if gold(g) and pred(p))

    def _ratio(self, gold: Callable[[RiskLevel], bool], pred: Callable[[RiskLevel], bool]) -> float:
        denominator = self._count(gold, lambda _p: True)
        return self._count(gold, pred) / denominator if denominator else float("nan")

    @property
    def recall_high(self) -> float:
        """High or imminent messages flagged high or imminent."""
        return self._ratio(lambda g: g >= RiskLevel.HIGH, lambda p: p >= RiskLevel.HIGH)

    @property
    def imminent_caught(self) -> float:
        """Imminent messages flagged at least high."""
        return self._ratio(lambda g: g is RiskLevel.IMMINENT, lambda p: p >= RiskLevel.HIGH)

    @property
    def recall_moderate(self) -> float:
        """Moderate-or-worse messages flagged moderate or worse."""
        return self._ratio(lambda g: g >= RiskLevel.MODERATE, lambda p: p >= RiskLevel.MODERATE)

    @property
    def false_alarms(self) -> float:
        """None or low messages flagged moderate or worse."""
        return self._ratio(lambda g: g <= RiskLevel.LOW, lambda p: p >= RiskLevel.MODERATE)

    @property
    def accuracy(self) -> float:
        """Exact level agreement."""
        right = sum(n for (g, p), n in self.confusion.items() if g == p)
        return right / self.total if self.total else float("nan")

    def render(self) -> str:
        """The human-readable report."""
        lines = [
            f"messages: {self.total}",
            f"recall at >= high:      {self.recall_high:.3f}",
            f"imminent caught (>=high): {self.imminent_caught:.3f}",
            f"recall at >= moderate:  {self.recall_moderate:.3f}",
            f"false alarms (none/low flagged >= moderate): {self.false_alarms:.3f}",
            f"exact accuracy:         {self.accuracy:.3f}",
            "",
            "confusion (rows gold, columns predicted):",
            "            " + "".join(f"{lv.label:>10}" for lv in RiskLevel),
        ]
        for gold in RiskLevel:
            cells = "".join(f"{self.confusion.get((gold, p), 0):>10}" for p in RiskLevel)
            lines.append(f"{gold.label:>12}{cells}")
        if self.misses:
            lines += ["", "misses (id, gold -> predicted, text):"]
            lines += [
                f"{ex.ident}\t{ex.gold.label} -> {pred.label}\t{ex.text}"
                for ex, pred in self.misses
            ]
        return "\n".join(lines)


def read_examples(path: Path) -> list[Example]:
    """Read a TSV with at least ``level`` and ``text`` columns."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise EvalFileError(f"{path}: not UTF-8") from None
    reader = csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    if not reader.fieldnames or not {"level", "text"} <= set(reader.fieldnames):
        raise EvalFileError(f"{path}: expected a header with 'level' and 'text' columns")
    out = []
    for number, row in enumerate(reader, start=2):
        try:
            gold = RiskLevel.parse(row["level"] or "")
        except KeyError:
            raise EvalFileError(f"{path}:{number}: unknown level {row['level']!r}") from None
        out.append(
            Example(row.get("id") or str(number), gold, row["text"] or "", row.get("tag") or "")
        )
    return out


def evaluate(examples: Iterable[Example], predict: Callable[[str], RiskLevel]) -> Report:
    """Run ``predict`` over every example and tally the report."""
    report = Report()
    for example in examples:
        predicted = predict(example.text)
        report.total += 1
        key = (example.gold, predicted)
        report.confusion[key] = report.confusion.get(key, 0) + 1
        if predicted != example.gold:
            report.misses.append((example, predicted))
    return report
