"""``heartguard cases|duty|hospitals|worker``: the green channel from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bot.app import open_app
from bot.cli.main import run_async, utcnow
from bot.config.settings import Settings
from bot.errors import NotFoundError, UsageError
from bot.services.admin import audit, school_by_ref
from escalation.actions import ACTIONS, RESOLUTIONS, Actor, CaseActionError
from escalation.cases import case_number
from storage.models import Case, Counselor, DutyOverride, DutyShift, Hospital, School, Student

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _actor(args: argparse.Namespace) -> Actor:
    return Actor.counselor(args.as_counselor) if args.as_counselor else Actor.admin()


def register(commands: Any) -> None:
    """Add the green-channel command groups."""
    cases = commands.add_parser("cases", help="list, show and act on green-channel cases")
    cs = cases.add_subparsers(dest="cases_command", metavar="ACTION")
    cs.required = True
    listing = cs.add_parser("list", help="one line per case (open ones unless --all)")
    listing.add_argument("--all", action="store_true", help="include resolved and closed")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_async(_list))
    show = cs.add_parser("show", help="a case and its timeline (the read is recorded)")
    show.add_argument("case", type=int)
    show.add_argument("--as-counselor", type=int, metavar="ID", help="act as this counselor")
    show.set_defaults(handler=run_async(_show))
    for action in ("ack", "contacted", "refer", "resolve", "reopen", "note"):
        sub = cs.add_parser(action, help=f"{action} a case")
        sub.add_argument("case", type=int)
        sub.add_argument("--as-counselor", type=int, metavar="ID", help="act as this counselor")
        if action == "resolve":
            sub.add_argument("--resolution", choices=RESOLUTIONS, default="safe")
        if action == "note":
            sub.add_argument("text")
        sub.set_defaults(handler=run_async(_act), action=action)

    duty = commands.add_parser("duty", help="duty shifts and date overrides")
    ds = duty.add_subparsers(dest="duty_command", metavar="ACTION")
    ds.required = True
    add = ds.add_parser("add", help="a weekly shift: counselor, tier, days and local times")
    add.add_argument("counselor", type=int)
    add.add_argument("--tier", choices=("school", "district"), required=True)
    add.add_argument("--school", help="school code (school tier)")
    add.add_argument("--days", default="mon,tue,wed,thu,fri", help="e.g. mon,tue or all")
    add.add_argument("--from", dest="start", default="08:00", help="local start, HH:MM")
    add.add_argument("--to", dest="end", default="17:00", help="local end, HH:MM (may wrap)")
    add.set_defaults(handler=run_async(_duty_add))
    ds.add_parser("list", help="every shift and override").set_defaults(
        handler=run_async(_duty_list)
    )
    off = ds.add_parser("off", help="a counselor off duty on a date (holiday, leave)")
    off.add_argument("counselor", type=int)
    off.add_argument("day", type=date.fromisoformat, help="YYYY-MM-DD")
    off.set_defaults(handler=run_async(_duty_off))

    hospitals = commands.add_parser("hospitals", help="referral hospitals")
    hs = hospitals.add_subparsers(dest="hospitals_command", metavar="ACTION")
    hs.required = True
    hadd = hs.add_parser("add", help="add a referral hospital and its channel")
    hadd.add_argument("name")
    hadd.add_argument("--channel", choices=("webhook", "email", "wecom", "dingtalk"), required=True)
    hadd.add_argument("--address", required=True, help="URL or e-mail address")
    hadd.set_defaults(handler=run_async(_hospital_add))
    hs.add_parser("list", help="list hospitals").set_defaults(handler=run_async(_hospital_list))

    worker = commands.add_parser("worker", help="run the green-channel engine on its own")
    worker.set_defaults(handler=run_async(_worker))


def _minutes(text: str) -> int:
    try:
        hour, minute = (int(p) for p in text.split(":"))
    except ValueError:
        raise UsageError(f"time {text!r}: expected HH:MM") from None
    if not (0 <= hour <= 24 and 0 <= minute < 60) or hour * 60 + minute > 1440:
        raise UsageError(f"time {text!r}: expected HH:MM between 00:00 and 24:00")
    return hour * 60 + minute


def _age(created: datetime, now: datetime) -> str:
    minutes = int((now - created).total_seconds() // 60)
    return (
        f"{minutes}m"
        if minutes < 120
        else f"{minutes // 60}h"
        if minutes < 2880
        else (f"{minutes // 1440}d")
    )


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    now = utcnow()
    async with open_app(settings) as app, app.sessions() as session:
        query = (
            select(Case, School.code, Student.display_name)
            .join(Student, Student.id == Case.student_id)
            .outerjoin(School, School.id == Case.school_id)
            .order_by(Case.id)
        )
        if not args.all:
            query = query.where(
                Case.status.in_(("open", "acknowledged", "in_progress", "referred"))
            )
        rows = (await session.execute(query)).all()
    items = [
        {
            "id": c.id,
            "number": case_number(c),
            "priority": c.priority,
            "status": c.status,
            "school": code or "-",
            "student": name,
            "age": _age(c.created_at, now),
        }
        for c, code, name in rows
    ]
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
    else:
        for i in items:
            print(
                f"#{i['id']}\t{i['priority']}\t{i['status']}\t{i['school']}\t{i['student']}\t"
                f"{i['age']}"
            )
    return 0


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.green import build_green_channel

    async with open_app(settings) as app:
        service = build_green_channel(app).service
        try:
            case, events = await service.view(args.case, _actor(args), utcnow())
        except CaseActionError as exc:
            raise NotFoundError(str(exc)) from None
    print(
        f"case {case_number(case)} (#{case.id}) {case.priority} {case.status} "
        f"reason={case.reason} categories={','.join(case.categories)}"
    )
    for event in events:
        print(
            f"  {event.at:%Y-%m-%d %H:%M:%S}Z {event.actor:<14} {event.action:<16} "
            f"{json.dumps(event.details, ensure_ascii=False)}"
        )
    return 0


async def _act(args: argparse.Namespace, settings: Settings) -> int:
    from bot.green import build_green_channel

    if args.action not in ACTIONS:
        raise UsageError(f"unknown action {args.action}")
    async with open_app(settings) as app:
        service = build_green_channel(app).service
        try:
            case = await service.act(
                args.case,
                args.action,
                _actor(args),
                utcnow(),
                note=getattr(args, "text", ""),
                resolution=getattr(args, "resolution", "other"),
            )
        except CaseActionError as exc:
            raise UsageError(str(exc)) from None
    print(f"ok: case #{case.id} is {case.status}")
    return 0


async def _duty_add(args: argparse.Namespace, settings: Settings) -> int:
    days = WEEKDAYS if args.days == "all" else tuple(d.strip() for d in args.days.split(","))
    if any(d not in WEEKDAYS for d in days):
        raise UsageError("--days: expected names like mon,tue,wed or all")
    start, end = _minutes(args.start), _minutes(args.end)
    if start == end:
        raise UsageError("--from and --to are the same time")
    async with open_app(settings) as app, app.sessions.begin() as session:
        counselor = await session.get(Counselor, args.counselor)
        if counselor is None:
            raise NotFoundError(
                f"no counselor #{args.counselor} (see `heartguard counselors list`)"
            )
        school_id = None
        if args.tier == "school":
            if not args.school:
                raise UsageError("a school-tier shift needs --school")
            school_id = (await school_by_ref(session, args.school)).id
        now = utcnow()
        for day in days:
            session.add(
                DutyShift(
                    counselor_id=counselor.id,
                    tier=args.tier,
                    school_id=school_id,
                    weekday=WEEKDAYS.index(day),
                    start_minute=start,
                    end_minute=end,
                    created_at=now,
                )
            )
        audit(
            session,
            now=now,
            actor="cli:admin",
            action="duty_added",
            subject_type="counselor",
            subject_id=counselor.id,
            days=len(days),
        )
    print(f"ok: {len(days)} shift(s) for counselor #{args.counselor}")
    return 0


async def _duty_list(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        shifts = (
            await session.scalars(
                select(DutyShift).order_by(DutyShift.counselor_id, DutyShift.weekday)
            )
        ).all()
        overrides = (await session.scalars(select(DutyOverride).order_by(DutyOverride.day))).all()
    for s in shifts:
        print(
            f"shift #{s.id}\tcounselor #{s.counselor_id}\t{s.tier}\t"
            f"school {s.school_id or '-'}\t{WEEKDAYS[s.weekday]}\t"
            f"{s.start_minute // 60:02d}:{s.start_minute % 60:02d}-"
            f"{s.end_minute // 60:02d}:{s.end_minute % 60:02d}"
        )
    for o in overrides:
        print(f"override #{o.id}\tcounselor #{o.counselor_id}\t{o.day}\t{o.kind}")
    return 0


async def _duty_off(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        if await session.get(Counselor, args.counselor) is None:
            raise NotFoundError(f"no counselor #{args.counselor}")
        session.add(
            DutyOverride(counselor_id=args.counselor, day=args.day, kind="off", created_at=utcnow())
        )
    print(f"ok: counselor #{args.counselor} off duty on {args.day}")
    return 0


async def _hospital_add(args: argparse.Namespace, settings: Settings) -> int:
    if not args.address.strip():
        raise UsageError("--address must not be empty")
    async with open_app(settings) as app, app.sessions.begin() as session:
        hospital = Hospital(
            name=args.name,
            channel=args.channel,
            address=args.address.strip(),
            active=True,
            created_at=utcnow(),
        )
        session.add(hospital)
        await session.flush()
        print(f"ok: hospital #{hospital.id} {hospital.name} via {hospital.channel}")
    return 0


async def _hospital_list(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        for h in (await session.scalars(select(Hospital).order_by(Hospital.id))).all():
            state = "disabled (410)" if h.disabled_at else "active" if h.active else "inactive"
            print(f"#{h.id}\t{h.name}\t{h.channel}\t{state}")
    return 0


async def _worker(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.green import build_green_channel
    from bot.scheduler import GreenChannelRunner, run_until_stopped

    async with open_app(settings) as app:
        green = build_green_channel(app)
        try:
            await run_until_stopped(GreenChannelRunner(green, settings))
        finally:
            await green.aclose()
    return 0
