"""The weekly school and district report, as figures: a pure core over gathered facts.

The facts (``weekly_facts.gather``) list, for each figure and each of two weeks, the things
counted: one :class:`Unit` (school, grade) per student, or per case, which stands for one.
This module turns them into cells with their relations (totals and their parts), suppresses
small cells (``suppression.suppress``) and hands the renderers a :class:`WeeklyReport` whose
:meth:`~WeeklyReport.value` never returns a suppressed figure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.services.reports.suppression import Cell, Key, Relation, suppress

WEEKS = ("this", "last")
# Check-ins, with a grade breakdown (and a school one in the district report).
CHECKINS = ("invited", "started", "completed")
PHQ_BANDS = (
    "phq.negative_screen",
    "phq.minimal",
    "phq.mild",
    "phq.moderate",
    "phq.moderately_severe",
    "phq.severe",
    "phq.unscored",
)
GAD_BANDS = (
    "gad.negative_screen",
    "gad.minimal",
    "gad.mild",
    "gad.moderate",
    "gad.severe",
    "gad.unscored",
)
ASQ = ("asq.acute", "asq.non_acute")
FLAGS = ("flags.moderate", "flags.high", "flags.imminent")
MARKS = ("marks.confirmed", "marks.false_alarm", "marks.unmarked")
PRIORITIES = ("cases.routine", "cases.urgent", "cases.emergency")
ACK = ("ack.done", "ack.waiting")
SINGLES = (
    "timeouts",
    "overdue.follow_ups",
    "overdue.referrals",
    "consent.missing",
    "failures.reminders",
    "failures.alerts",
)
# total figure -> the figures that partition it (every part is shown beside the total).
PARTITIONS: Mapping[str, tuple[str, ...]] = {
    "phq.screened": PHQ_BANDS,
    "gad.screened": GAD_BANDS,
    "asq.positive": ASQ,
    "flags.students": FLAGS,
    "marks.cases": MARKS,
    "cases.total": PRIORITIES,
}
FIGURES: tuple[str, ...] = (
    *CHECKINS,
    *(f for total, parts in PARTITIONS.items() for f in (total, *parts)),
    *ACK,
    *SINGLES,
)
# The district report's table by school.
BY_SCHOOL = ("invited", "started", "completed", "phq.screened", "asq.positive", "cases.total")


@dataclass(frozen=True)
class Unit:
    """One thing counted: a student, or a case standing for one."""

    school: int | None
    grade: int | None


@dataclass(frozen=True)
class WeekFacts:
    """One week's units per figure, and the minutes to each case's first acknowledgement."""

    units: Mapping[str, Sequence[Unit]]
    ack_minutes: Sequence[float] = ()


@dataclass(frozen=True)
class SchoolRef:
    """A school as a report names it."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Scope:
    """Whose report: one school, or the whole district (``school`` is None)."""

    school: SchoolRef | None
    schools: tuple[SchoolRef, ...] = ()
    grades: tuple[int | None, ...] = ()

    @property
    def is_district(self) -> bool:
        """The district report."""
        return self.school is None


@dataclass(frozen=True)
class Timing:
    """Minutes to first human acknowledgement: median and 90th percentile, or None."""

    median: float | None
    p90: float | None


@dataclass(frozen=True)
class WeeklyReport:
    """Every figure of one report, with the suppressed ones held back."""

    scope: Scope
    week: str
    previous: str
    span: str
    zone: str
    k: int
    generated_at: datetime
    cells: Mapping[Key, int]
    hidden: frozenset[Key]
    relations: tuple[Relation, ...]
    timing: Mapping[str, Timing] = field(default_factory=dict)

    def value(
        self, week: str, figure: str, dim: str = "all", item: int | None = None
    ) -> int | None:
        """A shown figure, or None when it is suppressed (or absent)."""
        key = key_of(week, figure, dim, item)
        if key in self.hidden or key not in self.cells:
            return None
        return self.cells[key]

    def has(self, week: str, figure: str, dim: str = "all", item: int | None = None) -> bool:
        """Whether the report holds this cell at all (shown or suppressed)."""
        return key_of(week, figure, dim, item) in self.cells

    def shown(self) -> dict[Key, int]:
        """Every figure a reader sees."""
        return {key: value for key, value in self.cells.items() if key not in self.hidden}


def key_of(week: str, figure: str, dim: str = "all", item: int | None = None) -> Key:
    """The key of one cell: week, figure, and a breakdown ("grade", 7) or "all"."""
    if dim == "all":
        return (week, figure, "all")
    return (week, figure, dim, -1 if item is None else item)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (no interpolation: a time some case really took)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _totals(facts: WeekFacts) -> dict[str, list[Unit]]:
    units = {figure: list(facts.units.get(figure, ())) for figure in FIGURES}
    for total, parts in PARTITIONS.items():
        units[total] = [unit for part in parts for unit in units[part]]
    return units


def _breakdown(
    cells: dict[Key, Cell],
    relations: list[Relation],
    week: str,
    figure: str,
    units: Sequence[Unit],
    dim: str,
    items: Iterable[int | None],
) -> None:
    counts = Counter(unit.grade if dim == "grade" else unit.school for unit in units)
    parts = []
    for item in items:
        key = key_of(week, figure, dim, item)
        cells[key] = Cell(counts.get(item, 0), protected=True)
        parts.append(key)
    relations.append(Relation(key_of(week, figure), tuple(parts)))


def build(
    scope: Scope,
    facts: Mapping[str, WeekFacts],
    *,
    week: str,
    previous: str,
    span: str,
    zone: str,
    k: int,
    generated_at: datetime,
) -> WeeklyReport:
    """The report's cells and relations, with small cells suppressed.

    In a school report every figure is protected. In the district report the district's own
    totals are not (the district team sees its whole district), but every row by school or
    by grade is.
    """
    cells: dict[Key, Cell] = {}
    relations: list[Relation] = []
    timing: dict[str, Timing] = {}
    for week_tag in WEEKS:
        week_facts = facts.get(week_tag, WeekFacts({}))
        units = _totals(week_facts)
        for figure in FIGURES:
            cells[key_of(week_tag, figure)] = Cell(len(units[figure]), not scope.is_district)
        for total, parts in (*PARTITIONS.items(), ("cases.total", ACK)):
            relations.append(
                Relation(key_of(week_tag, total), tuple(key_of(week_tag, p) for p in parts))
            )
        grades = _items(scope.grades, (u.grade for f in CHECKINS for u in units[f]))
        for figure in CHECKINS:
            _breakdown(cells, relations, week_tag, figure, units[figure], "grade", grades)
        if scope.is_district:
            schools = _items(
                tuple(s.id for s in scope.schools),
                (u.school for f in BY_SCHOOL for u in units[f]),
            )
            for figure in BY_SCHOOL:
                _breakdown(cells, relations, week_tag, figure, units[figure], "school", schools)
        minutes = list(week_facts.ack_minutes)
        timing[week_tag] = Timing(percentile(minutes, 0.5), percentile(minutes, 0.9))
    hidden = suppress(cells, relations, k)
    for week_tag in WEEKS:
        if key_of(week_tag, "ack.done") in hidden:
            timing[week_tag] = Timing(None, None)
    return WeeklyReport(
        scope=scope,
        week=week,
        previous=previous,
        span=span,
        zone=zone,
        k=k,
        generated_at=generated_at,
        cells={key: cell.value for key, cell in cells.items()},
        hidden=hidden,
        relations=tuple(relations),
        timing=timing,
    )


def _items(known: Sequence[int | None], seen: Iterable[int | None]) -> tuple[int | None, ...]:
    """The rows of a breakdown: every known one, and any unknown one that holds units."""
    extra = {item for item in seen if item not in known}
    ordered = list(known) + sorted(extra, key=lambda item: (item is None, item or 0))
    return tuple(ordered)
