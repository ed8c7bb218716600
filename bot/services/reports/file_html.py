"""The student's file as one self-contained HTML page (inline CSS and SVG, no script).

Times are local to the student's school, with the zone. The safety plan appears only when
the service decrypted it for a counselor in scope.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from bot.services.reports.charts import Band, Point, trend_chart
from bot.services.reports.labels import Lang, t
from bot.services.reports.report_html import CSS
from bot.services.reports.student_file import StudentFile

PHQ9_BANDS = (
    Band(0, 4, "minimal", "#cfe8cf"),
    Band(5, 9, "mild", "#f6efb5"),
    Band(10, 14, "moderate", "#f8d49a"),
    Band(15, 19, "mod. severe", "#f3ab86"),
    Band(20, 27, "severe", "#e98585"),
)
GAD7_BANDS = (
    Band(0, 4, "minimal", "#cfe8cf"),
    Band(5, 9, "mild", "#f6efb5"),
    Band(10, 14, "moderate", "#f8d49a"),
    Band(15, 21, "severe", "#e98585"),
)


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    return "-" if at is None else f"{at.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def trends(file: StudentFile, lang: Lang) -> str:
    """The PHQ-9 and GAD-7 trend charts, bands shaded, positive ASQs marked."""
    zone = ZoneInfo(file.zone)
    asq = [
        (row.at.astimezone(zone), f"ASQ {row.band}")
        for row in file.checkins
        if row.instrument == "asq" and row.band != "negative"
    ]
    charts = []
    for instrument, title, bands in (
        ("phq9", "PHQ-9/PHQ-A", PHQ9_BANDS),
        ("gad7", "GAD-7", GAD7_BANDS),
    ):
        points = [
            Point(row.at.astimezone(zone), row.score)
            for row in file.checkins
            if row.instrument == instrument and row.score is not None
        ]
        charts.append(
            trend_chart(
                f"{title} · {t('file.trend', lang)} ({file.zone})", points, bands, markers=asq
            )
        )
    return "".join(charts)


def render_file_html(file: StudentFile, lang: Lang = "zh") -> str:
    """The whole file as one HTML document."""
    zone = ZoneInfo(file.zone)
    yes, no = t("file.yes", lang), t("file.no", lang)
    facts = [
        (t("file.student", lang), file.name),
        (t("file.number", lang), file.number or "-"),
        (t("school", lang), file.school or t("school.none", lang)),
        (t("file.class", lang), file.class_name or "-"),
        (t("grade", lang), str(file.grade or "-")),
        (t("file.status", lang), file.status),
        (t("file.consent", lang), _local(file.consent_at, zone)),
        (
            t("file.guardian", lang),
            (yes if file.guardian_consent else no)
            + (f" · {t('file.needed', lang)}" if file.consent_needed else ""),
        ),
        (
            t("file.reminders", lang),
            f"{t('file.sent', lang)} {file.reminders_sent} · "
            f"{t('file.missed', lang)} {file.reminders_missed}",
        ),
    ]
    about = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    history = "".join(
        f'<tr data-instrument="{escape(r.instrument)}"><td>{_local(r.at, zone)}</td>'
        f"<td>{escape(r.label)}</td><td>{'-' if r.score is None else r.score}</td>"
        f"<td>{escape(r.band)}</td></tr>"
        for r in reversed(file.checkins)
    )
    cases = "".join(
        f"<tr><td>{escape(c.number)}</td><td>{escape(c.priority)}</td>"
        f"<td>{escape(c.status)}{' · ' + escape(c.resolution) if c.resolution else ''}</td>"
        f"<td>{escape(c.reason)}</td><td>{_local(c.opened, zone)}</td>"
        f"<td>{_local(c.closed, zone)}</td><td>{c.referrals}</td>"
        f"<td>{escape(c.mark or '-')}</td></tr>"
        for c in file.cases
    )
    if file.plan is not None:
        plan = "".join(
            f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in file.plan.items()
        )
        plan_html = f"<table class=plan>{plan}</table>"
    elif file.plan_exists:
        plan_html = f"<p>{t('file.plan_hidden', lang)} ({_local(file.plan_updated, zone)})</p>"
    else:
        plan_html = f"<p>{t('file.plan_none', lang)}</p>"
    reminders = "".join(
        f"<tr><td>{_local(r.at, zone)}</td><td>{escape(r.status)}</td>"
        f"<td>{'✓' if r.answered else ('…' if r.answered is None else '✗')}</td></tr>"
        for r in reversed(file.reminders)
    )
    title = t("file.title", lang)
    case_head = "".join(
        f"<th>{h}</th>"
        for h in (
            "#",
            t("file.priority", lang),
            t("file.status", lang),
            t("file.reason", lang),
            t("file.opened", lang),
            t("file.closed", lang),
            t("file.referrals", lang),
            t("file.mark", lang),
        )
    )
    return (
        f'<!doctype html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<main class="report file" data-student="{file.student_id}">'
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="confidential">{t("report.confidential", lang)}</p>'
        f"<p>{t('report.generated', lang)}: {_local(file.generated_at, zone)} · "
        f"{t('file.viewed', lang)}</p></header>"
        f'<section class="page first"><table class=about>{about}</table>'
        f"<h2>{t('file.trend', lang)}</h2>{trends(file, lang)}</section>"
        f'<section class="page"><h2>{t("file.checkins", lang)}</h2><table><thead><tr>'
        f"<th>{t('file.when', lang)}</th><th>{t('file.instrument', lang)}</th>"
        f"<th>{t('file.score', lang)}</th><th>{t('file.band', lang)}</th></tr></thead>"
        f"<tbody>{history}</tbody></table>"
        f"<h2>{t('file.cases', lang)}</h2><table><thead><tr>{case_head}</tr></thead>"
        f"<tbody>{cases}</tbody></table>"
        f"<h2>{t('file.plan', lang)}</h2>{plan_html}"
        f"<h2>{t('file.reminders', lang)}</h2><table><tbody>{reminders}</tbody></table>"
        f"</section></main></body></html>"
    )
