"""The weekly report as one self-contained HTML page: inline CSS, inline SVG, no script.

Printable on A4 (each section starts a page; headless Chromium prints it to PDF), readable
on a screen, and embeddable by the console. A suppressed figure prints as "*", with the rule
in the footer; nothing here names a student.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from bot.services.reports.charts import Series, bar_chart
from bot.services.reports.labels import Lang, t
from bot.services.reports.weekly import (
    ACK,
    ASQ,
    BY_SCHOOL,
    CHECKINS,
    FLAGS,
    GAD_BANDS,
    MARKS,
    PHQ_BANDS,
    PRIORITIES,
    WeeklyReport,
)

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: 'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif;
       color: #1b1b1b; margin: 0; font-size: 10.5pt; line-height: 1.35; }
main.report { max-width: 186mm; margin: 0 auto; padding: 8px; }
header h1 { font-size: 16pt; margin: 0 0 4px; }
header p { margin: 2px 0; color: #444; }
.confidential { color: #8a1c1c; font-weight: bold; }
section.page { break-before: page; page-break-before: always; }
section.page.first { break-before: auto; page-break-before: auto; }
h2 { font-size: 13pt; border-bottom: 2px solid #2f6f9f; padding-bottom: 2px; margin: 10px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef3f8; }
tr.total td { font-weight: bold; background: #f6f6f6; }
tr.part td:first-child { padding-left: 18px; }
tr.own-line td { background: #fff4e5; font-weight: bold; }
.last { color: #666; }
svg.chart { display: block; width: 100%; height: auto; max-height: 62mm; margin: 4px 0 8px; }
.pair { display: flex; gap: 4mm; }
.pair svg.chart { width: 50%; }
footer { margin-top: 10px; font-size: 9pt; color: #444; }
@media screen { section.page { border-top: 1px dashed #ccc; margin-top: 16px; } }
"""


def _cell(value: int | None) -> str:
    return "*" if value is None else str(value)


def _minutes(value: float | None, lang: Lang) -> str:
    return "*" if value is None else t("minutes", lang, n=f"{value:.0f}")


def _row(report: WeeklyReport, figure: str, label: str, css: str = "", **where: object) -> str:
    dim = str(where.get("dim", "all"))
    item = where.get("item")
    item_id = item if isinstance(item, int) else None
    this = report.value("this", figure, dim, item_id)
    last = report.value("last", figure, dim, item_id)
    return (
        f'<tr class="{css}" data-figure="{escape(figure)}"><td>{escape(label)}</td>'
        f"<td>{_cell(this)}</td><td class=last>{_cell(last)}</td></tr>"
    )


def _table(report: WeeklyReport, lang: Lang, rows: Sequence[str]) -> str:
    head = (
        f"<thead><tr><th>{t('report.figure', lang)}</th><th>{t('report.this', lang)} "
        f"{report.week}</th><th>{t('report.last', lang)} {report.previous}</th></tr></thead>"
    )
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _grade_label(grade: int, lang: Lang) -> str:
    return t("grade.none", lang) if grade == -1 else t("grade.n", lang, n=grade)


def _grades(report: WeeklyReport) -> list[int]:
    found = {
        key[3]
        for key in report.cells
        if len(key) == 4 and key[2] == "grade" and isinstance(key[3], int)
    }
    return sorted(found, key=lambda g: (g == -1, g))


def _checkins(report: WeeklyReport, lang: Lang) -> str:
    grades = _grades(report)
    head = "".join(f"<th>{t(f, lang)}</th>" for f in CHECKINS)
    rows = []
    for grade in [*grades, None]:
        label = t("total", lang) if grade is None else _grade_label(grade, lang)
        cells = []
        for figure in CHECKINS:
            dim = "all" if grade is None else "grade"
            this = report.value("this", figure, dim, grade)
            last = report.value("last", figure, dim, grade)
            cells.append(f"<td>{_cell(this)} <span class=last>({_cell(last)})</span></td>")
        css = "total" if grade is None else ""
        rows.append(f'<tr class="{css}"><td>{escape(label)}</td>{"".join(cells)}</tr>')
    table = (
        f"<table><thead><tr><th>{t('grade', lang)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p class=last>{t('report.this', lang)} ({t('report.last', lang)})</p>"
    )
    chart = bar_chart(
        t("chart.checkins", lang) + f" · {report.week}",
        [_grade_label(g, lang) for g in grades],
        [
            Series(t(f, lang), tuple(report.value("this", f, "grade", g) for g in grades))
            for f in CHECKINS
        ],
    )
    title = t("section.checkins", lang)
    return f'<section class="page first" id="checkins"><h2>{title}</h2>{table}{chart}</section>'


def _partition(report: WeeklyReport, lang: Lang, total: str, parts: Sequence[str]) -> list[str]:
    return [
        _row(report, total, t(total, lang), "total"),
        *(_row(report, part, t(part, lang), "part") for part in parts),
    ]


def _bands_chart(report: WeeklyReport, lang: Lang, title: str, parts: Sequence[str]) -> str:
    return bar_chart(
        t(title, lang),
        [t(p, lang).split(" (")[0] for p in parts],
        [
            Series(
                f"{t('report.this', lang)} {report.week}",
                tuple(report.value("this", p) for p in parts),
            ),
            Series(
                f"{t('report.last', lang)} {report.previous}",
                tuple(report.value("last", p) for p in parts),
            ),
        ],
    )


def _screening(report: WeeklyReport, lang: Lang) -> str:
    phq = _table(report, lang, _partition(report, lang, "phq.screened", PHQ_BANDS))
    gad = _table(report, lang, _partition(report, lang, "gad.screened", GAD_BANDS))
    # ASQ positives stand on a line of their own: they matter more than any band.
    asq = _table(
        report,
        lang,
        [
            _row(report, "asq.positive", t("asq.positive", lang), "own-line"),
            *(_row(report, p, t(p, lang), "part") for p in ASQ),
        ],
    )
    return (
        f'<section class="page" id="screening"><h2>{t("section.screening", lang)}</h2>'
        f"{asq}{phq}{gad}<div class=pair>"
        f"{_bands_chart(report, lang, 'chart.phq', PHQ_BANDS[1:6])}"
        f"{_bands_chart(report, lang, 'chart.gad', GAD_BANDS[1:5])}</div></section>"
    )


def _green(report: WeeklyReport, lang: Lang) -> str:
    rows = [
        *_partition(report, lang, "flags.students", FLAGS),
        *_partition(report, lang, "marks.cases", MARKS),
        *_partition(report, lang, "cases.total", PRIORITIES),
        *(_row(report, p, t(p, lang), "part") for p in ACK),
    ]
    this, last = report.timing.get("this"), report.timing.get("last")
    for name in ("median", "p90"):
        now_v = getattr(this, name) if this else None
        then_v = getattr(last, name) if last else None
        rows.append(
            f'<tr data-figure="ack.{name}"><td>{t(f"ack.{name}", lang)}</td>'
            f"<td>{_minutes(now_v, lang)}</td><td class=last>{_minutes(then_v, lang)}</td></tr>"
        )
    for figure in (
        "timeouts",
        "overdue.follow_ups",
        "overdue.referrals",
        "consent.missing",
        "failures.reminders",
        "failures.alerts",
    ):
        rows.append(_row(report, figure, t(figure, lang)))
    chart = bar_chart(
        t("chart.cases", lang),
        [t(p, lang) for p in PRIORITIES],
        [
            Series(
                f"{t('report.this', lang)} {report.week}",
                tuple(report.value("this", p) for p in PRIORITIES),
            ),
            Series(
                f"{t('report.last', lang)} {report.previous}",
                tuple(report.value("last", p) for p in PRIORITIES),
            ),
        ],
    )
    return (
        f'<section class="page" id="green"><h2>{t("section.green", lang)}</h2>'
        f"{_table(report, lang, rows)}{chart}</section>"
    )


def _schools(report: WeeklyReport, lang: Lang) -> str:
    head = "".join(f"<th>{t(f, lang)}</th>" for f in BY_SCHOOL)
    rows = []
    ids = [s.id for s in report.scope.schools]
    if any(report.has("this", f, "school", None) for f in BY_SCHOOL):
        ids.append(-1)
    names = {s.id: f"{s.code} {s.name}" for s in report.scope.schools}
    for ident in [*ids, None]:
        if ident is None:
            label, dim, css = t("total", lang), "all", "total"
        else:
            label, dim, css = names.get(ident, t("school.none", lang)), "school", ""
        cells = "".join(
            f"<td>{_cell(report.value('this', f, dim, ident))} "
            f"<span class=last>({_cell(report.value('last', f, dim, ident))})</span></td>"
            for f in BY_SCHOOL
        )
        rows.append(f'<tr class="{css}"><td>{escape(label)}</td>{cells}</tr>')
    return (
        f'<section class="page" id="schools"><h2>{t("section.schools", lang)}</h2>'
        f"<table><thead><tr><th>{t('school', lang)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p class=last>{t('report.this', lang)} ({t('report.last', lang)})</p></section>"
    )


def render_html(report: WeeklyReport, lang: Lang = "zh") -> str:
    """The whole report as one HTML document."""
    school = report.scope.school
    title = t("report.district" if school is None else "report.school", lang)
    who = f"{school.code} {school.name}" if school is not None else ""
    generated = report.generated_at.astimezone(ZoneInfo(report.zone))
    body = [
        _checkins(report, lang),
        _screening(report, lang),
        _green(report, lang),
    ]
    if school is None:
        body.append(_schools(report, lang))
    return (
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)} {report.week}</title><style>{CSS}</style></head><body>"
        f'<main class="report" data-week="{report.week}" data-min-cell="{report.k}">'
        f"<header><h1>{escape(title)}</h1>"
        + (f"<p><strong>{escape(who)}</strong></p>" if who else "")
        + f"<p>{t('report.week', lang)}: {report.week} ({report.span}) · "
        f"{t('report.last', lang)}: {report.previous} · {t('report.zone', lang)}: {report.zone}</p>"
        f"<p>{t('report.generated', lang)}: {generated:%Y-%m-%d %H:%M %Z}</p>"
        f'<p class="confidential">{t("report.confidential", lang)}</p></header>'
        + "".join(body)
        + f"<footer><p>{t('report.suppressed', lang, k=report.k)}</p>"
        f"<p>{t('report.no_names', lang)}</p></footer></main></body></html>"
    )
