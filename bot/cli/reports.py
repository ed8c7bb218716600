"""``heartguard report weekly``: a school's or the district's week, as HTML, CSV or PDF."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.bootstrap import open_app
from bot.cli.files import write_binary, write_output
from bot.cli.main import run_async, utcnow
from bot.cli.records import actor_of
from bot.config.settings import Settings
from bot.errors import UsageError
from bot.services.reports.pdf import print_pdf
from bot.services.reports.report_csv import render_csv
from bot.services.reports.report_html import render_html
from bot.services.reports.weekly_reports import WeeklyReports
from bot.services.reports.weeks import Week
from bot.translation import _


def register(commands: Any) -> None:
    """Add the report command group."""
    report = commands.add_parser("report", help=_("weekly school and district reports"))
    sub = report.add_subparsers(dest="report_command", metavar="ACTION")
    sub.required = True
    weekly = sub.add_parser(
        "weekly", help=_("one week beside the week before (small cells suppressed; no names)")
    )
    scope = weekly.add_mutually_exclusive_group(required=True)
    scope.add_argument("--school", help=_("school code or name"))
    scope.add_argument("--district", action="store_true", help=_("the whole district"))
    weekly.add_argument("--week", help=_("ISO week, e.g. 2026-W49 (default: last week)"))
    weekly.add_argument("--format", choices=("html", "csv", "pdf"), default="html")
    weekly.add_argument("--out", help=_("write here (default: stdout; PDF needs --out)"))
    weekly.add_argument("--lang", choices=("zh", "en"), default="zh")
    weekly.add_argument("--as-counselor", type=int, metavar="ID", help=_("as this counselor"))
    weekly.set_defaults(handler=run_async(_weekly))


async def _weekly(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "pdf" and not args.out:
        raise UsageError(_("a PDF needs --out FILE (it is not text for a terminal)"))
    now = utcnow()
    week = args.week or Week.containing(now, settings.schools.default_timezone).previous().label
    async with open_app(settings) as app:
        report = await WeeklyReports(app.sessions, settings).build(
            school=None if args.district else args.school,
            week=week,
            actor=actor_of(args),
            now=now,
        )
    if args.format == "csv":
        write_output(args.out, render_csv(report, args.lang))
    elif args.format == "html":
        write_output(args.out, render_html(report, args.lang))
    else:
        pdf = await print_pdf(render_html(report, args.lang), chromium=settings.reports.chromium)
        write_binary(args.out, pdf)
    if args.out:
        print(f"ok: {report.week} written to {args.out}", file=sys.stderr)
    return 0
