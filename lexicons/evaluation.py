"""Scoring the detector against a labelled set of single messages (``heartguard risk eval``).

Two layouts are read: the project's own (``level`` and ``text`` columns) and PsySUICIDE's
(``labels`` and ``text``: the paper's fine-grained labels, mapped to our levels below).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import HeartGuardError
from core.vocabulary import RiskLevel


class EvalFileError(HeartGuardError, ValueError):
    """The labelled file cannot be used; the message says why."""


# PsySUICIDE's labels (Qiu, Ma and Lan, EMNLP 2024) and the level each suggests
# (shared/eval/README.md). A row with several labels takes the most serious.
PSYGUARD_LEVELS = {
    "none": RiskLevel.NONE,
    "explore": RiskLevel.MODERATE,
    "passive": RiskLevel.MODERATE,
    "aggression_user": RiskLevel.MODERATE,
    "aggression_other": RiskLevel.MODERATE,
    "active": RiskLevel.HIGH,
    "selfharm_intent": RiskLevel.HIGH,
    "selfharm": RiskLevel.HIGH,
    "attempt": RiskLevel.HIGH,
    "plan": RiskLevel.HIGH,
    "prep": RiskLevel.IMMINENT,
}
# The two figures on real counselling text: any suicide or self-harm risk, and
# active ideation, a plan or preparation.
SUICIDE_OR_SELF_HARM = frozenset(PSYGUARD_LEVELS) - {"none", "aggression_user", "aggression_other"}
ACTIVE_PLAN_PREP = frozenset({"active", "plan", "prep"})


@dataclass(frozen=True)
class Example:
    """A labelled message (``labels``: PsySUICIDE's own labels, when the set has them)."""

    ident: str
    gold: RiskLevel
    text: str
    tag: str = ""
    labels: frozenset[str] = frozenset()


@dataclass
class Report:
    """Metrics in the order that matters (eval/README.md)."""

    total: int = 0
    confusion: dict[tuple[RiskLevel, RiskLevel], int] = field(default_factory=dict)
    misses: list[tuple[Example, RiskLevel]] = field(default_factory=list)
    # PsySUICIDE's figures: (label group, flagged, of), when the set has labels.
    labelled: dict[str, tuple[int, int]] = field(default_factory=dict)

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

    def figure(self, name: str) -> float:
        """A PsySUICIDE figure by name (``nan`` when the set has no such rows)."""
        flagged, total = self.labelled.get(name, (0, 0))
        return flagged / total if total else float("nan")

    def render(self) -> str:
        """The human-readable report."""
        lines = [
            f"messages: {self.total}",
            f"recall at >= high:      {self.recall_high:.3f}",
            f"imminent caught (>=high): {self.imminent_caught:.3f}",
            f"recall at >= moderate:  {self.recall_moderate:.3f}",
            f"false alarms (none/low flagged >= moderate): {self.false_alarms:.3f}",
            f"exact accuracy:         {self.accuracy:.3f}",
        ]
        if self.labelled:
            for name, (flagged, total) in self.labelled.items():
                lines.append(f"{name}: {self.figure(name):.3f} ({flagged}/{total})")
        lines += [
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


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs of a UTF-8 TSV."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise EvalFileError(f"{path}: not UTF-8") from None
    reader = csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = list(reader.fieldnames or [])
    return header, [(number, row) for number, row in enumerate(reader, start=2)]


def _psyguard_level(path: Path, number: int, raw: str) -> tuple[RiskLevel, frozenset[str]]:
    labels = frozenset(label.strip() for label in raw.split(",") if label.strip())
    unknown = sorted(labels - set(PSYGUARD_LEVELS))
    if not labels or unknown:
        raise EvalFileError(f"{path}:{number}: unknown PsySUICIDE label(s) {unknown or [raw]}")
    return max(PSYGUARD_LEVELS[label] for label in labels), labels


def read_examples(path: Path) -> list[Example]:
    """Read a TSV with ``level`` (or PsySUICIDE ``labels``) and ``text`` columns."""
    header, rows = read_rows(path)
    columns = set(header)
    if "text" not in columns or not columns & {"level", "labels"}:
        raise EvalFileError(f"{path}: expected a header with 'level' and 'text' columns")
    out = []
    for number, row in rows:
        labels: frozenset[str] = frozenset()
        if "level" in columns:
            try:
                gold = RiskLevel.parse(row["level"] or "")
            except KeyError:
                raise EvalFileError(f"{path}:{number}: unknown level {row['level']!r}") from None
        else:
            gold, labels = _psyguard_level(path, number, row["labels"] or "")
        ident = row.get("id") or str(number)
        out.append(Example(ident, gold, row["text"] or "", row.get("tag") or "", labels))
    return out


def evaluate(examples: Iterable[Example], predict: Callable[[str], RiskLevel]) -> Report:
    """Run ``predict`` over every example and tally the report."""
    report = Report()
    groups = {
        "suicide or self-harm risk flagged >= moderate": (SUICIDE_OR_SELF_HARM, RiskLevel.MODERATE),
        "active ideation, plan or preparation flagged >= high": (ACTIVE_PLAN_PREP, RiskLevel.HIGH),
    }
    for example in examples:
        predicted = predict(example.text)
        report.total += 1
        key = (example.gold, predicted)
        report.confusion[key] = report.confusion.get(key, 0) + 1
        if predicted != example.gold:
            report.misses.append((example, predicted))
        for name, (labels, floor) in groups.items():
            if example.labels & labels:
                flagged, total = report.labelled.get(name, (0, 0))
                report.labelled[name] = (flagged + (predicted >= floor), total + 1)
    return report
