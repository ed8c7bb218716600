"""The weekly report as CSV: one row per figure and breakdown, this week beside last week.

A suppressed figure has an empty value and ``suppressed`` set; the rule is in the header
rows, so a spreadsheet passed on keeps it.
"""

from __future__ import annotations

import csv
import io

from bot.services.reports.labels import Lang, t
from bot.services.reports.weekly import WeeklyReport

COLUMNS = (
    "figure",
    "label",
    "breakdown",
    "item",
    "this_week",
    "this_suppressed",
    "last_week",
    "last_suppressed",
)


def render_csv(report: WeeklyReport, lang: Lang = "zh") -> str:
    """The report as CSV text (UTF-8 with a BOM, so Excel reads the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    school = report.scope.school
    scope = f"{school.code} {school.name}" if school is not None else "district"
    writer.writerow(["# scope", scope, "week", report.week, "last_week", report.previous])
    writer.writerow(["# min_cell", report.k, t("report.suppressed", lang, k=report.k)])
    writer.writerow(COLUMNS)
    names = {s.id: s.code for s in report.scope.schools}
    seen: set[tuple[object, ...]] = set()
    for key in report.cells:
        _week, figure, dim, *rest = key
        base = (figure, dim, *rest)
        if base in seen:
            continue
        seen.add(base)
        item = rest[0] if rest else None
        label = t(str(figure), lang)
        if dim == "grade":
            shown_item = "unknown" if item == -1 else str(item)
        elif dim == "school":
            shown_item = names.get(int(item), "none") if isinstance(item, int) else ""
        else:
            shown_item = ""
        values = []
        for week in ("this", "last"):
            full = (week, *base)
            hidden = full in report.hidden
            values += ["" if hidden else report.cells.get(full, ""), "yes" if hidden else ""]
        writer.writerow([figure, label, dim, shown_item, *values])
    for name in ("median", "p90"):
        row: list[object] = [f"ack.{name}_minutes", t(f"ack.{name}", lang), "all", ""]
        for week in ("this", "last"):
            timing = report.timing.get(week)
            value = getattr(timing, name) if timing is not None else None
            hidden = (week, "ack.done", "all") in report.hidden
            row += ["" if value is None else f"{value:.1f}", "yes" if hidden else ""]
        writer.writerow(row)
    return out.getvalue()
