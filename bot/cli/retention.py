"""``heartguard retention run [--dry-run]``: what the retention settings say must go, now."""

from __future__ import annotations

import argparse
from typing import Any

from bot.bootstrap import open_app
from bot.cli.main import run_async, utcnow
from bot.config.settings import Settings
from bot.services.retention import KINDS, sweep
from bot.translation import _
from core.clock import local_text


def register(commands: Any) -> None:
    """Add the retention command group."""
    retention = commands.add_parser(
        "retention", help=_("delete what the retention settings say is due (daily in run/worker)")
    )
    rs = retention.add_subparsers(dest="retention_command", metavar="ACTION")
    rs.required = True
    run = rs.add_parser("run", help=_("delete it now (audited); --dry-run only counts"))
    run.add_argument(
        "--dry-run", action="store_true", help=_("count what would go; change nothing")
    )
    run.set_defaults(handler=run_async(_run))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.privacy.safety_record_retention_days
    async with open_app(settings) as app, app.sessions.begin() as session:
        report = await sweep(
            session, now=utcnow(), retention_days=days, dry_run=args.dry_run, actor="cli:admin"
        )
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"retention: safety records of erased students are kept {days} day(s) "
        f"(made before {local_text(report.cutoff, settings.schools.default_timezone)} go)"
    )
    for kind, label in KINDS:
        print(f"  {verb} {report.counts.get(kind, 0)} {label}")
    dry = " (dry run: nothing changed)" if args.dry_run else ""
    print(f"ok: {verb} {report.total} record(s){dry}")
    return 0
