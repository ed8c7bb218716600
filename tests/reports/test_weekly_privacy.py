"""The weekly report from random facts: no small cell in any output, none recoverable."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.reports.report_csv import render_csv
from bot.services.reports.report_html import render_html
from bot.services.reports.weekly import (
    FIGURES,
    PARTITIONS,
    SchoolRef,
    Scope,
    Unit,
    WeekFacts,
    WeeklyReport,
    build,
)
from tests.reports.test_suppression import recoverable

K = 10
SCHOOLS = (SchoolRef(1, "A01", "一中"), SchoolRef(2, "A02", "二中"), SchoolRef(3, "A03", "三中"))
units = st.builds(Unit, st.sampled_from((1, 2, 3)), st.sampled_from((7, 8, 9)))
week_facts = st.builds(
    WeekFacts,
    st.fixed_dictionaries(
        {f: st.lists(units, max_size=40) for f in FIGURES if f not in PARTITIONS}
    ),
    st.lists(st.floats(min_value=0, max_value=600), max_size=30),
)


def report(scope: Scope, this: WeekFacts, last: WeekFacts) -> WeeklyReport:
    return build(
        scope,
        {"this": this, "last": last},
        week="2026-W49",
        previous="2026-W48",
        span="2026-11-30 – 2026-12-06",
        zone="Asia/Shanghai",
        k=K,
        generated_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


def protected(report: WeeklyReport, key: tuple[object, ...]) -> bool:
    return report.scope.school is not None or key[2] != "all"


@settings(max_examples=60, deadline=None)
@given(week_facts, week_facts, st.booleans())
def test_no_small_cell_is_shown_or_recoverable(
    this: WeekFacts, last: WeekFacts, district: bool
) -> None:
    scope = (
        Scope(None, schools=SCHOOLS, grades=(7, 8, 9))
        if district
        else Scope(SCHOOLS[0], grades=(7, 8, 9))
    )
    built = report(scope, this, last)
    for key, value in built.shown().items():
        if protected(built, key):
            assert value >= K, key
    assert recoverable(list(built.relations), built.hidden) == set()
    # The CSV shows exactly the shown cells.
    rows = list(csv.reader(io.StringIO(render_csv(built).lstrip("\ufeff"))))
    header = rows[2]
    for row in rows[3:]:
        record = dict(zip(header, row, strict=True))
        if record["figure"].startswith("ack.") and record["figure"].endswith("_minutes"):
            continue
        for week in ("this", "last"):
            value = record[f"{week}_week"]
            if record[f"{week}_suppressed"]:
                assert value == ""
            elif (not district or record["breakdown"] != "all") and value != "":
                assert int(value) >= K, record
    # So does the page: every count in a school report's tables is * or at least K.
    if not district:
        page = render_html(built)
        for text in re.findall(r"<td>(\d+)(?: <span class=last>\((\d+|\*)\)</span>)?</td>", page):
            for number in text:
                if number and number != "*":
                    assert int(number) >= K
        for value in re.findall(r'data-value="(\d+)"', page):
            assert int(value) >= K


def test_timing_is_hidden_with_the_cases_it_comes_from() -> None:
    few = WeekFacts({"ack.done": [Unit(1, 7)] * 3}, [5.0, 7.0, 30.0])
    built = report(Scope(SCHOOLS[0], grades=(7,)), few, few)
    assert built.timing["this"].median is None
    many = WeekFacts({"ack.done": [Unit(1, 7)] * 12}, [float(n) for n in range(1, 13)])
    built = report(Scope(None, schools=SCHOOLS, grades=(7,)), many, few)
    assert built.timing["this"].median == 6.0
    assert built.timing["this"].p90 == 11.0
