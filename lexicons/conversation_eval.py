"""Scoring the detector on conversations: risk that builds over several messages.

A set is a TSV with ``conv``, ``turn``, ``minutes``, ``level`` and ``text`` columns
(lexicons/corpus/LABELLING.md): ``level`` is the conversation's gold level by its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.vocabulary import RiskLevel
from lexicons.evaluation import EvalFileError, read_rows

CONVERSATION_COLUMNS = frozenset({"conv", "turn", "minutes", "level", "text"})


@dataclass(frozen=True)
class Turn:
    """One message of a labelled conversation."""

    number: int
    minutes: float
    text: str


@dataclass(frozen=True)
class Dialogue:
    """A labelled conversation, its turns in order."""

    ident: str
    gold: RiskLevel
    turns: tuple[Turn, ...]


@dataclass
class ConversationReport:
    """Caught (gold >= high reaching >= high at some turn) and false alarms."""

    total: int = 0
    confusion: dict[tuple[RiskLevel, RiskLevel], int] = field(default_factory=dict)
    misses: list[tuple[Dialogue, list[RiskLevel]]] = field(default_factory=list)

    def _ratio(self, gold: Callable[[RiskLevel], bool], pred: Callable[[RiskLevel], bool]) -> float:
        cells = [(g, p, n) for (g, p), n in self.confusion.items() if gold(g)]
        total = sum(n for _, _, n in cells)
        return sum(n for _, p, n in cells if pred(p)) / total if total else float("nan")

    @property
    def caught(self) -> float:
        """Conversations at high or imminent that reach high at some turn."""
        return self._ratio(lambda g: g >= RiskLevel.HIGH, lambda p: p >= RiskLevel.HIGH)

    @property
    def imminent_caught(self) -> float:
        """Imminent conversations that reach high at some turn."""
        return self._ratio(lambda g: g is RiskLevel.IMMINENT, lambda p: p >= RiskLevel.HIGH)

    @property
    def recall_moderate(self) -> float:
        """Conversations at moderate or worse that reach moderate at some turn."""
        return self._ratio(lambda g: g >= RiskLevel.MODERATE, lambda p: p >= RiskLevel.MODERATE)

    @property
    def false_alarms(self) -> float:
        """None or low conversations that reach moderate at any turn."""
        return self._ratio(lambda g: g <= RiskLevel.LOW, lambda p: p >= RiskLevel.MODERATE)

    def render(self) -> str:
        """The human-readable report."""
        lines = [
            f"conversations: {self.total}",
            f"caught (>= high reaches >= high): {self.caught:.3f}",
            f"imminent caught (>= high):        {self.imminent_caught:.3f}",
            f"recall at >= moderate:            {self.recall_moderate:.3f}",
            f"false alarms (none/low reaching >= moderate): {self.false_alarms:.3f}",
            "",
            "confusion (rows gold, columns highest level reached):",
            "            " + "".join(f"{lv.label:>10}" for lv in RiskLevel),
        ]
        for gold in RiskLevel:
            cells = "".join(f"{self.confusion.get((gold, p), 0):>10}" for p in RiskLevel)
            lines.append(f"{gold.label:>12}{cells}")
        if self.misses:
            lines += ["", "misses (conv, gold -> levels per turn, texts):"]
            for dialogue, levels in self.misses:
                trail = " ".join(level.label for level in levels)
                lines.append(f"{dialogue.ident}\t{dialogue.gold.label} -> {trail}")
                lines += [f"    {t.number}\t+{t.minutes:g}m\t{t.text}" for t in dialogue.turns]
        return "\n".join(lines)


def is_conversation_file(header: Iterable[str]) -> bool:
    """Whether a TSV header is the conversation layout."""
    return set(header) >= CONVERSATION_COLUMNS


def read_dialogues(path: Path) -> list[Dialogue]:
    """Read a conversation set; raises ``EvalFileError`` naming the file and line."""
    header, rows = read_rows(path)
    if not is_conversation_file(header):
        raise EvalFileError(f"{path}: expected a header with {sorted(CONVERSATION_COLUMNS)}")
    grouped: dict[str, list[tuple[int, float, str, RiskLevel]]] = {}
    for number, row in rows:
        try:
            turn = int(row["turn"] or "")
            minutes = float(row["minutes"] or "")
            gold = RiskLevel.parse(row["level"] or "")
        except (ValueError, KeyError):
            raise EvalFileError(f"{path}:{number}: expected a turn, minutes and a level") from None
        if minutes < 0:
            raise EvalFileError(f"{path}:{number}: minutes must not be negative")
        grouped.setdefault(row["conv"] or "", []).append((turn, minutes, row["text"] or "", gold))
    out = []
    for ident, turns in grouped.items():
        turns.sort(key=lambda t: (t[0], t[1]))
        gold = max(t[3] for t in turns)
        out.append(Dialogue(ident, gold, tuple(Turn(n, m, text) for n, m, text, _ in turns)))
    return out


def evaluate_dialogues(
    dialogues: Iterable[Dialogue], run: Callable[[Dialogue], list[RiskLevel]]
) -> ConversationReport:
    """Run every conversation turn by turn (``run`` returns a level per turn) and tally."""
    report = ConversationReport()
    for dialogue in dialogues:
        levels = run(dialogue)
        reached = max(levels, default=RiskLevel.NONE)
        report.total += 1
        key = (dialogue.gold, reached)
        report.confusion[key] = report.confusion.get(key, 0) + 1
        missed = dialogue.gold >= RiskLevel.HIGH and reached < RiskLevel.HIGH
        alarmed = dialogue.gold <= RiskLevel.LOW and reached >= RiskLevel.MODERATE
        if missed or alarmed or (dialogue.gold is RiskLevel.MODERATE and reached < dialogue.gold):
            report.misses.append((dialogue, levels))
    return report
