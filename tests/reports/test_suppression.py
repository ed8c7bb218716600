"""Small-cell suppression: nothing under the threshold is shown, nothing hidden can be recovered.

The recoverability check here is written independently of the module's: a hidden cell is
recoverable exactly when adding its unit vector to the shown relations does not raise their
rank (it is then a linear combination of what a reader knows).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.reports.suppression import Cell, Key, Relation, suppress

K = 10


def rank(rows: list[list[Fraction]]) -> int:
    """Rank by plain forward elimination (no reduced form)."""
    rows = [row[:] for row in rows]
    found = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((r for r in range(found, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        for r in range(found + 1, len(rows)):
            factor = rows[r][column] / rows[found][column]
            rows[r] = [a - factor * b for a, b in zip(rows[r], rows[found], strict=True)]
        found += 1
    return found


def recoverable(relations: list[Relation], hidden: frozenset[Key]) -> set[Key]:
    """Every hidden cell a reader could work out, table by table (tables share no cell)."""
    tables: list[tuple[set[Key], list[Relation]]] = []
    for relation in relations:
        touching = [t for t in tables if t[0] & set(relation.cells())]
        merged: tuple[set[Key], list[Relation]] = (set(relation.cells()), [relation])
        for t in touching:
            tables.remove(t)
            merged[0].update(t[0])
            merged[1].extend(t[1])
        tables.append(merged)
    out: set[Key] = set()
    for keys, group in tables:
        out |= _recoverable(group, frozenset(hidden & keys))
    return out


def _recoverable(relations: list[Relation], hidden: frozenset[Key]) -> set[Key]:
    unknown = sorted(hidden, key=repr)
    index = {key: i for i, key in enumerate(unknown)}
    system = []
    for relation in relations:
        row = [Fraction(0)] * len(unknown)
        for key in relation.parts:
            if key in index:
                row[index[key]] += 1
        if relation.total in index:
            row[index[relation.total]] -= 1
        system.append(row)
    base = rank(system) if system else 0
    out = set()
    for key, i in index.items():
        unit = [Fraction(0)] * len(unknown)
        unit[i] = Fraction(1)
        if rank([*system, unit]) == base:
            out.add(key)
    return out


def table(
    values: list[list[int]], protected_totals: bool
) -> tuple[dict[Key, Cell], list[Relation]]:
    """A two-way table with row totals, column totals and a grand total."""
    cells: dict[Key, Cell] = {}
    relations = []
    rows, cols = len(values), len(values[0])
    for r in range(rows):
        for c in range(cols):
            cells[("c", r, c)] = Cell(values[r][c])
        cells[("row", r)] = Cell(sum(values[r]), protected_totals)
        relations.append(Relation(("row", r), tuple(("c", r, c) for c in range(cols))))
    for c in range(cols):
        cells[("col", c)] = Cell(sum(values[r][c] for r in range(rows)), protected_totals)
        relations.append(Relation(("col", c), tuple(("c", r, c) for r in range(rows))))
    cells[("all",)] = Cell(sum(map(sum, values)), protected_totals)
    relations.append(Relation(("all",), tuple(("row", r) for r in range(rows))))
    relations.append(Relation(("all",), tuple(("col", c) for c in range(cols))))
    return cells, relations


counts = st.integers(min_value=0, max_value=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(counts, min_size=1, max_size=8), st.booleans())
def test_one_way_breakdown(parts: list[int], protected_total: bool) -> None:
    cells: dict[Key, Cell] = {("p", i): Cell(v) for i, v in enumerate(parts)}
    cells[("t",)] = Cell(sum(parts), protected_total)
    relations = [Relation(("t",), tuple(("p", i) for i in range(len(parts))))]
    hidden = suppress(cells, relations, K)
    for key, cell in cells.items():
        if cell.protected and key not in hidden:
            assert cell.value >= K
    assert recoverable(relations, hidden) == set()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda rows: st.lists(
            st.lists(counts, min_size=1, max_size=5).map(tuple), min_size=rows, max_size=rows
        )
    ),
    st.booleans(),
)
def test_two_way_tables_with_margins(raw: list[tuple[int, ...]], protected_totals: bool) -> None:
    width = min(len(row) for row in raw)
    values = [list(row[:width]) for row in raw]
    cells, relations = table(values, protected_totals)
    hidden = suppress(cells, relations, K)
    shown_small = [
        key
        for key, cell in cells.items()
        if cell.protected and key not in hidden and cell.value < K
    ]
    assert shown_small == []
    assert recoverable(relations, hidden) == set()
    for relation in relations:
        assert sum(key in hidden for key in relation.cells()) != 1


def test_a_single_small_cell_takes_the_next_smallest_with_it() -> None:
    cells = {("a",): Cell(3), ("b",): Cell(40), ("c",): Cell(25), ("t",): Cell(68, False)}
    relations = [Relation(("t",), (("a",), ("b",), ("c",)))]
    assert suppress(cells, relations, K) == {("a",), ("c",)}


def test_nothing_small_nothing_hidden() -> None:
    cells = {("a",): Cell(12), ("b",): Cell(40), ("t",): Cell(52)}
    assert suppress(cells, [Relation(("t",), (("a",), ("b",)))], K) == frozenset()


def test_zero_is_a_small_cell() -> None:
    cells = {("a",): Cell(0), ("b",): Cell(40), ("c",): Cell(30), ("t",): Cell(70, False)}
    assert suppress(cells, [Relation(("t",), (("a",), ("b",), ("c",)))], K) == {("a",), ("c",)}
