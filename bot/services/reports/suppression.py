"""Small-cell suppression for aggregates of minors' data. Pure: no database, no clock.

A report is a set of cells (counts of students, or of cases, each standing for a student) and
the additive relations among them that a reader can see (a total and its parts: the grades of
a school, the bands of a screen, the schools of the district). The rule:

1. **Primary suppression.** Every protected cell (one in a school, class or grade breakdown)
   of fewer than ``k`` is suppressed, zero included: "nobody in grade 7 scored severe" says
   something about every pupil in grade 7.
2. **Complementary suppression.** A relation with exactly one suppressed cell gives it away
   by subtraction, so the next smallest cell of that relation is suppressed too (a part
   before the total).
3. **Proof.** Cells can also be recovered through several relations at once (a table's rows
   and columns together). So after the greedy pass the system of every relation is solved
   over the suppressed cells (exact rational elimination): a suppressed cell whose value the
   shown figures determine gets one more companion in one of its relations, until none is
   determined. Suppression only grows, so this ends (at worst with everything hidden).

Unprotected cells (the district's own totals) are never suppressed for being small, but they
take part in the relations as known figures, and may be suppressed as companions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class Cell:
    """One figure: its value and whether it is a school, class or grade breakdown."""

    value: int
    protected: bool = True


@dataclass(frozen=True)
class Relation:
    """``total`` equals the sum of ``parts``, and a reader sees them together."""

    total: Key
    parts: tuple[Key, ...]

    def cells(self) -> tuple[Key, ...]:
        """The total and the parts."""
        return (self.total, *self.parts)


def primary(cells: Mapping[Key, Cell], k: int) -> set[Key]:
    """Protected cells under the threshold."""
    return {key for key, cell in cells.items() if cell.protected and cell.value < k}


def _companion(relation: Relation, cells: Mapping[Key, Cell], hidden: set[Key]) -> Key | None:
    """The next smallest shown cell of a relation: a part first, the total last."""
    shown = [key for key in relation.parts if key not in hidden]
    if shown:
        return min(shown, key=lambda key: (cells[key].value, repr(key)))
    return relation.total if relation.total not in hidden else None


def components(relations: Sequence[Relation]) -> list[list[Relation]]:
    """Relations grouped by shared cells: each group is an independent system of equations."""
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for relation in relations:
        first = root(relation.total)
        for key in relation.parts:
            parent[root(key)] = first
    groups: dict[Key, list[Relation]] = {}
    for relation in relations:
        groups.setdefault(root(relation.total), []).append(relation)
    return list(groups.values())


def determined(
    cells: Mapping[Key, Cell], relations: Sequence[Relation], hidden: Iterable[Key]
) -> set[Key]:
    """The hidden cells whose values the shown cells and the relations pin down exactly.

    Each relation is one linear equation over the hidden cells (the shown ones move to the
    right-hand side). A hidden cell is determined exactly when its unit vector lies in the row
    space of the equations, which, in reduced row echelon form, means some row is that unit
    vector. Groups of relations that share no cell are solved apart (a report is many small
    tables, not one large one).
    """
    hidden = set(hidden)
    found: set[Key] = set()
    for group in components(relations):
        found |= _determined(group, hidden)
    return found


def _determined(relations: Sequence[Relation], hidden: set[Key]) -> set[Key]:
    unknown = sorted({k for r in relations for k in r.cells() if k in hidden}, key=repr)
    if not unknown:
        return set()
    index = {key: i for i, key in enumerate(unknown)}
    rows: list[list[Fraction]] = []
    for relation in relations:
        row = [Fraction(0)] * len(unknown)
        for key in relation.parts:
            if key in index:
                row[index[key]] += 1
        if relation.total in index:
            row[index[relation.total]] -= 1
        if any(row):
            rows.append(row)
    pivots = _reduce(rows, len(unknown))
    return {
        unknown[column]
        for row, column in pivots
        if all(value == 0 for i, value in enumerate(row) if i != column)
    }


def _reduce(rows: list[list[Fraction]], width: int) -> list[tuple[list[Fraction], int]]:
    """Reduced row echelon form in place; returns (row, pivot column) pairs."""
    pivots: list[tuple[list[Fraction], int]] = []
    top = 0
    for column in range(width):
        found = next((r for r in range(top, len(rows)) if rows[r][column] != 0), None)
        if found is None:
            continue
        rows[top], rows[found] = rows[found], rows[top]
        pivot = rows[top]
        scale = pivot[column]
        for i in range(width):
            pivot[i] /= scale
        for r, row in enumerate(rows):
            if r != top and row[column] != 0:
                factor = row[column]
                for i in range(width):
                    row[i] -= factor * pivot[i]
        pivots.append((pivot, column))
        top += 1
        if top == len(rows):
            break
    return pivots


def suppress(cells: Mapping[Key, Cell], relations: Sequence[Relation], k: int) -> frozenset[Key]:
    """The cells to hide so that none under ``k`` is shown or can be worked out.

    Raises:
        KeyError: a relation names a cell that is not in ``cells``.
    """
    for relation in relations:
        for key in relation.cells():
            if key not in cells:
                raise KeyError(f"relation names an unknown cell {key!r}")
    hidden = primary(cells, k)
    while True:
        _complete(cells, relations, hidden)
        pinned = determined(cells, relations, hidden)
        if not pinned:
            return frozenset(hidden)
        # One more companion for a determined cell (its own relations first), then look again.
        target = min(pinned, key=repr)
        ordered = sorted(relations, key=lambda relation: target not in relation.cells())
        for relation in ordered:
            if not hidden.isdisjoint(relation.cells()):
                extra = _companion(relation, cells, hidden)
                if extra is not None:
                    hidden.add(extra)
                    break
        else:  # pragma: no cover - a determined cell always has a shown cell beside it
            raise RuntimeError("suppression could not protect a determined cell")


def _complete(cells: Mapping[Key, Cell], relations: Sequence[Relation], hidden: set[Key]) -> None:
    """Greedy complementary suppression: no relation keeps a single hidden cell."""
    again = True
    while again:
        again = False
        for relation in relations:
            if sum(key in hidden for key in relation.cells()) == 1:
                extra = _companion(relation, cells, hidden)
                if extra is not None:
                    hidden.add(extra)
                    again = True
