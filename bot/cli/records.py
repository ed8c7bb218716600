"""``heartguard students file|watch``, ``cases mark`` and ``risk feedback``: thin edges over
the reports services (``bot/services/reports``), which check scope and audit every look.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.bootstrap import open_app
from bot.cli.files import write_output
from bot.cli.main import run_async, utcnow
from bot.config.settings import Settings
from bot.errors import NotFoundError, UsageError
from bot.services.case_refs import CaseRef, parse_case_ref
from bot.services.reports.feedback import Feedback
from bot.services.reports.file_html import render_file_html
from bot.services.reports.student_file import StudentFile, StudentFiles
from bot.services.reports.watch_list import WatchList
from bot.translation import _
from core.clock import local_text
from escalation.actions import Actor, CaseActionError
from storage.models import Case


def actor_of(args: argparse.Namespace) -> Actor:
    """The counselor given with --as-counselor, else the administrator at the CLI."""
    ident = getattr(args, "as_counselor", None)
    return Actor.counselor(ident) if ident else Actor.admin()


def register_students(sts: Any) -> None:
    """Add ``students file`` and ``students watch`` to the students group."""
    file = sts.add_parser(
        "file",
        help=_(
            "a student's mental-health file (the view is recorded; exports need the district role)"
        ),
    )
    file.add_argument("student_number", metavar="NUMBER", help=_("student number, e.g. S001"))
    file.add_argument("--school", required=True, help=_("school code or name"))
    file.add_argument("--json", action="store_true", help=_("export as JSON (district role)"))
    file.add_argument(
        "--format",
        choices=("text", "html"),
        default="text",
        help=_("html: an export (district role)"),
    )
    file.add_argument("--out", help=_("write the export here (default: stdout)"))
    file.add_argument("--lang", choices=("zh", "en"), default="zh")
    file.add_argument("--as-counselor", type=int, metavar="ID", help=_("look as this counselor"))
    file.set_defaults(handler=run_async(_file))
    watch = sts.add_parser(
        "watch",
        help=_(
            "students whose scores rose, who fell silent after a "
            "positive ASQ, or whose follow-up is overdue"
        ),
    )
    watch.add_argument("--school", help=_("one school (default: every school in your scope)"))
    watch.add_argument("--json", action="store_true", help=_("export as JSON (district role)"))
    watch.add_argument("--as-counselor", type=int, metavar="ID", help=_("look as this counselor"))
    watch.set_defaults(handler=run_async(_watch))


def register_cases(cs: Any) -> None:
    """Add ``cases mark`` to the cases group."""
    mark = cs.add_parser("mark", help=_("mark a case's alert as confirmed risk or a false alarm"))
    mark.add_argument("case", type=_case_ref, help=_("case id or number (12 or 2026-00012)"))
    which = mark.add_mutually_exclusive_group(required=True)
    which.add_argument("--confirmed", action="store_true", help=_("the risk was real"))
    which.add_argument("--false-alarm", action="store_true", help=_("the alert was a false alarm"))
    mark.add_argument("--as-counselor", type=int, metavar="ID", help=_("act as this counselor"))
    mark.set_defaults(handler=run_async(_mark))


def register_risk(sub: Any) -> None:
    """Add ``risk feedback`` to the risk group."""
    feedback = sub.add_parser("feedback", help=_("counselors' marks on alerts, for tuning"))
    feedback.add_argument("--export", action="store_true", required=True, help=_("write them out"))
    feedback.add_argument(
        "--with-text",
        action="store_true",
        help=_("add the flagged message (district role; audited)"),
    )
    feedback.add_argument("--out", help=_("write JSON lines here (default: stdout)"))
    feedback.add_argument(
        "--as-counselor", type=int, metavar="ID", help=_("export as this counselor")
    )
    feedback.set_defaults(handler=run_async(_feedback))


def _case_ref(text: str) -> CaseRef:
    ref = parse_case_ref(text)
    if ref is None:
        raise argparse.ArgumentTypeError(
            _("expected a case id or number such as 12 or 2026-00012, got {text!r}").format(
                text=text
            )
        )
    return ref


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    return "-" if at is None else local_text(at, zone.key, named=False)


def _print_file(file: StudentFile) -> None:
    zone = ZoneInfo(file.zone)
    print(f"student: {file.name}" + (f" ({file.number})" if file.number else ""))
    print(
        f"school: {file.school or '(anonymous: the district team)'}; class: "
        f"{file.class_name or '-'}; grade: {file.grade or '-'}; status: {file.status}"
    )
    consent = "yes" if file.guardian_consent else "no"
    needed = " (needed: under the consent age)" if file.consent_needed else ""
    print(f"times in {zone.key}")
    print(f"consent: {_local(file.consent_at, zone)}; guardian consent: {consent}{needed}")
    print(f"reminders: {file.reminders_sent} sent, {file.reminders_missed} missed")
    print(f"check-ins ({zone.key}):")
    for row in file.checkins:
        score = "-" if row.score is None else str(row.score)
        print(f"  {_local(row.at, zone)}  {row.label:<12} {score:>3}  {row.band}")
    print("cases:")
    for case in file.cases:
        print(
            f"  {case.number} {case.priority} {case.status}"
            + (f" ({case.resolution})" if case.resolution else "")
            + f"; {case.reason}; opened {_local(case.opened, zone)}; closed "
            f"{_local(case.closed, zone)}; referrals {case.referrals}; mark {case.mark or '-'}"
        )
    if file.plan is not None:
        print("safety plan:")
        for step, words in file.plan.items():
            print(f"  {step}: {words}")
    elif file.plan_exists:
        print(
            f"safety plan: exists (updated {_local(file.plan_updated, zone)}); "
            "only a counselor responsible for the student may read it"
        )
    else:
        print("safety plan: none")


async def _file(args: argparse.Namespace, settings: Settings) -> int:
    export = "json" if args.json else ("html" if args.format == "html" else None)
    if args.out and export is None:
        raise UsageError(_("--out writes an export: add --json or --format html"))
    async with open_app(settings) as app:
        files = StudentFiles(app.sessions, app.cipher, settings)
        file = await files.by_number(
            school=args.school,
            number=args.student_number,
            actor=actor_of(args),
            now=utcnow(),
            export=export,
        )
    if export == "json":
        write_output(args.out, json.dumps(file.to_json(), ensure_ascii=False, indent=2) + "\n")
    elif export == "html":
        write_output(args.out, render_file_html(file, args.lang))
    else:
        _print_file(file)
    return 0


async def _watch(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app:
        entries = await WatchList(app.sessions, settings).build(
            school=args.school, actor=actor_of(args), now=utcnow(), export=args.json
        )
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False))
        return 0
    if not entries:
        print("nobody on the watch list")
    for e in entries:
        why = "; ".join(
            r.kind + (" " + ", ".join(f"{k} {v}" for k, v in r.detail.items()) if r.detail else "")
            for r in e.reasons
        )
        print(f"{e.school or '-'}\t{e.class_name or '-'}\t{e.number or '-'}\t{e.name}\t{why}")
    return 0


async def _mark(args: argparse.Namespace, settings: Settings) -> int:
    mark = "confirmed" if args.confirmed else "false_alarm"
    async with open_app(settings) as app:
        async with app.sessions() as session:
            case = await session.get(Case, args.case.case_id)
            if case is None or not args.case.matches(case):
                raise NotFoundError(
                    _("no case {case} (see `heartguard cases list`)").format(case=args.case)
                )
        try:
            done = await Feedback(app.sessions, app.cipher).mark(
                case.id, mark, actor_of(args), utcnow()
            )
        except CaseActionError as exc:
            raise UsageError(str(exc)) from None
    replaced = f" (was {done.previous})" if done.previous else ""
    print(f"ok: case #{done.case_id} marked {done.mark}{replaced}")
    return 0


async def _feedback(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app:
        rows = await Feedback(app.sessions, app.cipher).export(
            actor=actor_of(args), now=utcnow(), with_text=args.with_text
        )
    write_output(args.out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return 0
