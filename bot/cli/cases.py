"""``heartguard cases|duty|hospitals|worker``: the green channel from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import (
    configured_channels,
    configured_shifts,
    coverage_warnings,
    open_app,
    open_runtime,
)
from bot.cli import records, takeover
from bot.cli.arguments import iso_day
from bot.cli.main import run_async, utcnow
from bot.config.settings import Settings
from bot.errors import NotFoundError, UsageError
from bot.services.admin import school_by_ref
from bot.services.case_refs import CaseRef, parse_case_ref
from bot.services.contacts import check_contact
from bot.services.counselor_desk import case_subject
from bot.services.coverage_report import HOW_TO_CONFIGURE, coverage_report
from bot.translation import _
from core.clock import WEEKDAYS, local_text
from escalation.actions import Actor, CaseActionError
from escalation.cases import case_number
from escalation.lifecycle import ACTIONS, RESOLUTIONS
from escalation.queue import open_queue
from storage.audit import audit
from storage.models import (
    Case,
    Counselor,
    CounselorSchool,
    DutyOverride,
    DutyShift,
    Hospital,
    School,
)


def _actor(args: argparse.Namespace) -> Actor:
    return Actor.counselor(args.as_counselor) if args.as_counselor else Actor.admin()


def _case_ref(text: str) -> CaseRef:
    ref = parse_case_ref(text)
    if ref is None:
        raise argparse.ArgumentTypeError(
            _("expected a case id or number such as 12 or 2026-00012, got {text!r}").format(
                text=text
            )
        )
    return ref


async def _resolve(session: AsyncSession, args: argparse.Namespace) -> int:
    """The case id behind the reference, after checking the case and the acting counselor."""
    if args.as_counselor is not None:
        counselor = await session.get(Counselor, args.as_counselor)
        if counselor is None:
            raise NotFoundError(
                _("no counselor #{as_counselor} (see `heartguard counselors list`)").format(
                    as_counselor=args.as_counselor
                )
            )
    ref: CaseRef = args.case
    case = await session.get(Case, ref.case_id)
    if case is None or not ref.matches(case):
        raise NotFoundError(_("no case {ref} (see `heartguard cases list`)").format(ref=ref))
    return case.id


def register(commands: Any) -> None:
    """Add the green-channel command groups."""
    cases = commands.add_parser("cases", help=_("list, show and act on green-channel cases"))
    cs = cases.add_subparsers(dest="cases_command", metavar="ACTION")
    cs.required = True
    listing = cs.add_parser("list", help=_("one line per case (open ones unless --all)"))
    listing.add_argument("--all", action="store_true", help=_("include resolved and closed"))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    listing.set_defaults(handler=run_async(_list))
    show = cs.add_parser("show", help=_("a case and its timeline (the read is recorded)"))
    show.add_argument("case", type=_case_ref, help=_("case id or number (12 or 2026-00012)"))
    show.add_argument("--as-counselor", type=int, metavar="ID", help=_("act as this counselor"))
    show.set_defaults(handler=run_async(_show))
    for action in ("ack", "contacted", "refer", "resolve", "reopen", "note"):
        sub = cs.add_parser(action, help=_("{action} a case").format(action=action))
        sub.add_argument("case", type=_case_ref, help=_("case id or number (12 or 2026-00012)"))
        sub.add_argument("--as-counselor", type=int, metavar="ID", help=_("act as this counselor"))
        if action == "resolve":
            # No default: an outcome nobody chose would be a false record.
            sub.add_argument(
                "--resolution",
                choices=RESOLUTIONS,
                help=_("the outcome (required): {choices}").format(choices=", ".join(RESOLUTIONS)),
            )
        if action == "note":
            sub.add_argument("text")
        sub.set_defaults(handler=run_async(_act), action=action)
    takeover.register(cs)
    records.register_cases(cs)

    duty = commands.add_parser("duty", help=_("duty shifts and date overrides"))
    ds = duty.add_subparsers(dest="duty_command", metavar="ACTION")
    ds.required = True
    add = ds.add_parser("add", help=_("a weekly shift: counselor, tier, days and local times"))
    add.add_argument("counselor", type=int)
    add.add_argument("--tier", choices=("school", "district"), required=True)
    add.add_argument("--school", help=_("school code (school tier)"))
    add.add_argument("--days", default="mon,tue,wed,thu,fri", help=_("e.g. mon,tue or all"))
    add.add_argument("--from", dest="start", required=True, help=_("local start, HH:MM"))
    add.add_argument(
        "--to", dest="end", required=True, help=_("local end, HH:MM (may wrap midnight)")
    )
    add.set_defaults(handler=run_async(_duty_add))
    remove = ds.add_parser("remove", help=_("remove a weekly shift (ids from `duty list`)"))
    remove.add_argument("shift", type=_positive_id, metavar="ID")
    remove.set_defaults(handler=run_async(_duty_remove))
    ds.add_parser("list", help=_("every shift and override, with names")).set_defaults(
        handler=run_async(_duty_list)
    )
    check = ds.add_parser(
        "check", help=_("hours over the coming days when nobody on duty can be reached")
    )
    check.add_argument("--days", type=int, default=7, help=_("how far ahead (1-31, default 7)"))
    check.add_argument("--json", action="store_true", help=_("print JSON (for monitoring)"))
    check.set_defaults(handler=run_async(_duty_check))
    off = ds.add_parser("off", help=_("a counselor off duty on a date (holiday, leave)"))
    off.add_argument("counselor", type=int)
    off.add_argument("day", type=iso_day, help=_("YYYY-MM-DD"))
    off.set_defaults(handler=run_async(_duty_off))

    hospitals = commands.add_parser("hospitals", help=_("referral hospitals"))
    hs = hospitals.add_subparsers(dest="hospitals_command", metavar="ACTION")
    hs.required = True
    hadd = hs.add_parser("add", help=_("add a referral hospital and its channel"))
    hadd.add_argument("name")
    hadd.add_argument("--channel", choices=("webhook", "email", "wecom", "dingtalk"), required=True)
    hadd.add_argument("--address", required=True, help=_("URL or e-mail address"))
    hadd.set_defaults(handler=run_async(_hospital_add))
    hs.add_parser("list", help=_("list hospitals")).set_defaults(handler=run_async(_hospital_list))

    worker = commands.add_parser("worker", help=_("run the green-channel engine on its own"))
    worker.set_defaults(handler=run_async(_worker))


def _minutes(text: str) -> int:
    try:
        hour, minute = (int(p) for p in text.split(":"))
    except ValueError:
        raise UsageError(_("time {text!r}: expected HH:MM").format(text=text)) from None
    if not (0 <= hour <= 24 and 0 <= minute < 60) or hour * 60 + minute > 1440:
        raise UsageError(
            _("time {text!r}: expected HH:MM between 00:00 and 24:00").format(text=text)
        )
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
        rows = await open_queue(session, Actor.admin(), include_closed=args.all, urgent_first=False)
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
        for c, code, name in ((r.case, r.school_code, r.student_display) for r in rows)
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
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session:
            case_id = await _resolve(session, args)
        try:
            case, events = await runtime.green.cases.view(case_id, _actor(args), utcnow())
        except CaseActionError as exc:
            raise NotFoundError(str(exc)) from None
        async with runtime.sessions() as session:
            who = await case_subject(session, case)
        notes = {e.id: note for e in events if (note := runtime.green.cases.note(e)) is not None}
    zone = ZoneInfo(who.timezone or settings.schools.default_timezone)

    def local(at: datetime) -> str:
        # The headings name the zone; each line gives the offset.
        return local_text(at, zone.key, seconds=True, named=False)

    print(
        f"case {case_number(case)} (#{case.id}) {case.priority} {case.status}"
        + (f" ({case.resolution})" if case.resolution else "")
    )
    print(f"student: {who.name}" + (f" ({who.number})" if who.number else ""))
    print(f"school: {who.school or '(anonymous: the district team)'}")
    print(f"class: {who.class_name or '-'}")
    print(f"reason: {case.reason}; categories: {', '.join(case.categories) or '-'}")
    print(f"opened: {local_text(case.created_at, zone.key, seconds=True)}")
    if who.scores:
        print("check-ins:")
        for score in who.scores:
            value = "unscored" if score.score is None else str(score.score)
            print(f"  {local(score.at)}  {score.label} {value} ({score.band})")
    print(f"timeline ({zone.key}):")
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        print(
            f"  {local(event.at)} {event.actor:<14} {event.action:<16} "
            f"{json.dumps(event.details, ensure_ascii=False)}"
            + (f" note: {note}" if (note := notes.get(event.id)) else "")
        )
    return 0


async def _act(args: argparse.Namespace, settings: Settings) -> int:
    if args.action not in ACTIONS:
        raise UsageError(_("unknown action {action}").format(action=args.action))
    resolution = getattr(args, "resolution", None)
    if args.action == "resolve" and resolution is None:
        raise UsageError(
            _("cases resolve needs --resolution: one of {value}").format(
                value=", ".join(RESOLUTIONS)
            )
        )
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session:
            case_id = await _resolve(session, args)
        try:
            case = await runtime.green.cases.act(
                case_id,
                args.action,
                _actor(args),
                utcnow(),
                note=getattr(args, "text", ""),
                resolution=resolution or "other",
            )
        except CaseActionError as exc:
            raise UsageError(str(exc)) from None
    print(f"ok: case {case_number(case)} (#{case.id}) is {case.status}")
    return 0


async def _duty_add(args: argparse.Namespace, settings: Settings) -> int:
    days = WEEKDAYS if args.days == "all" else tuple(d.strip() for d in args.days.split(","))
    if any(d not in WEEKDAYS for d in days):
        raise UsageError(_("--days: expected names like mon,tue,wed or all"))
    start, end = _minutes(args.start), _minutes(args.end)
    if start == end:
        raise UsageError(_("--from and --to are the same time"))
    async with open_app(settings) as app, app.sessions.begin() as session:
        counselor = await session.get(Counselor, args.counselor)
        if counselor is None:
            raise NotFoundError(
                _("no counselor #{counselor} (see `heartguard counselors list`)").format(
                    counselor=args.counselor
                )
            )
        school_id = await _shift_school(session, counselor, args.tier, args.school)
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


async def _shift_school(
    session: AsyncSession, counselor: Counselor, tier: str, school_ref: str | None
) -> int | None:
    """The school a shift is for, refusing counselors who cannot take it (one line each)."""
    who = _("counselor #{id} {name}").format(id=counselor.id, name=counselor.name)
    if not counselor.active:
        raise UsageError(
            _("{who} is inactive (heartguard counselors activate {id})").format(
                who=who, id=counselor.id
            )
        )
    if tier == "district":
        if school_ref:
            raise UsageError(_("a district shift covers every school: leave out --school"))
        if counselor.role != "district_crisis":
            raise UsageError(
                _("{who} is a {role}; district shifts are for the district crisis team").format(
                    who=who, role=counselor.role
                )
            )
        return None
    if not school_ref:
        raise UsageError(_("a school-tier shift needs --school"))
    school = await school_by_ref(session, school_ref)
    if counselor.role != "school_counselor":
        raise UsageError(
            _("{who} is a {role}; school shifts are for school counselors").format(
                who=who, role=counselor.role
            )
        )
    covered = await session.scalar(
        select(CounselorSchool.school_id).where(
            CounselorSchool.counselor_id == counselor.id, CounselorSchool.school_id == school.id
        )
    )
    if covered is None:
        raise UsageError(
            _("{who} is not a counselor of {code} ({name})").format(
                who=who, code=school.code, name=school.name
            )
        )
    return school.id


def _positive_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**31:
        raise argparse.ArgumentTypeError(
            _("expected an id such as 12, got {text!r}").format(text=text)
        )
    return int(text)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


async def _duty_remove(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        shift = await session.get(DutyShift, args.shift)
        if shift is None:
            raise NotFoundError(
                _("no shift #{shift} (see `heartguard duty list`)").format(shift=args.shift)
            )
        await session.delete(shift)
        audit(
            session,
            now=utcnow(),
            actor="cli:admin",
            action="duty_removed",
            subject_type="counselor",
            subject_id=shift.counselor_id,
            shift=shift.id,
        )
    print(
        f"ok: removed shift #{args.shift} (counselor #{shift.counselor_id}, "
        f"{WEEKDAYS[shift.weekday]} {_clock(shift.start_minute)}-{_clock(shift.end_minute)})"
    )
    return 0


async def _duty_list(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions() as session:
        shifts = (
            await session.scalars(
                select(DutyShift).order_by(DutyShift.counselor_id, DutyShift.weekday)
            )
        ).all()
        overrides = (await session.scalars(select(DutyOverride).order_by(DutyOverride.day))).all()
        names = dict((await session.execute(select(Counselor.id, Counselor.name))).all())
        schools = {
            ident: f"{code} {name}"
            for ident, code, name in (
                await session.execute(select(School.id, School.code, School.name))
            ).all()
        }
    for s in shifts:
        where = schools.get(s.school_id, "?") if s.school_id else "(district)"
        print(
            f"shift #{s.id}\tcounselor #{s.counselor_id} {names.get(s.counselor_id, '?')}\t"
            f"{s.tier}\t{where}\t{WEEKDAYS[s.weekday]}\t"
            f"{_clock(s.start_minute)}-{_clock(s.end_minute)}"
        )
    for o in overrides:
        where = schools.get(o.school_id, "?") if o.school_id else ""
        print(
            f"override #{o.id}\tcounselor #{o.counselor_id} {names.get(o.counselor_id, '?')}\t"
            f"{o.day}\t{o.kind}" + (f"\t{where}" if where else "")
        )
    if not shifts and not overrides:
        print(
            "no shifts yet: heartguard duty add ID --tier school --school CODE "
            "--from HH:MM --to HH:MM"
        )
    return 0


async def _duty_check(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.days <= 31:
        raise UsageError(_("--days: expected a number from 1 to 31"))
    async with open_app(settings) as app, app.sessions() as session:
        report = await coverage_report(
            session,
            channels=configured_channels(settings),
            configured=configured_shifts(settings),
            district_zone=settings.schools.default_timezone,
            now=utcnow(),
            days=args.days,
        )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return 0
    print(f"channels that can reach counselors: {', '.join(report.channels)}")
    for place in report.places:
        zone = ZoneInfo(place.zone)
        if not place.gaps:
            print(f"{place.code}	{place.name}	covered for the next {report.days} days")
            continue
        print(f"{place.code}	{place.name}	nobody reachable ({place.zone}):")
        for gap in place.gaps:
            start, end = gap.start.astimezone(zone), gap.end.astimezone(zone)
            print(f"	{start:%a %Y-%m-%d %H:%M} – {end:%a %Y-%m-%d %H:%M}")
    for ident, name, channel in report.unusable:
        how = HOW_TO_CONFIGURE.get(channel, f"no {channel} channel is configured")
        print(f"counselor #{ident} {name}: {channel} contact cannot be used ({how})")
    return 0


async def _duty_off(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app, app.sessions.begin() as session:
        if await session.get(Counselor, args.counselor) is None:
            raise NotFoundError(_("no counselor #{counselor}").format(counselor=args.counselor))
        session.add(
            DutyOverride(counselor_id=args.counselor, day=args.day, kind="off", created_at=utcnow())
        )
    print(f"ok: counselor #{args.counselor} off duty on {args.day}")
    return 0


async def _hospital_add(args: argparse.Namespace, settings: Settings) -> int:
    address = check_contact(args.channel, args.address, "--address")
    async with open_app(settings) as app, app.sessions.begin() as session:
        hospital = Hospital(
            name=args.name,
            channel=args.channel,
            address=address,
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
    from bot.scheduler import run_until_stopped

    async with open_runtime(settings, warm=True) as runtime:
        channels = ", ".join(sorted(runtime.green.engine.dispatcher.notifiers))
        print(f"heartguard worker: delivering alerts by {channels}", file=sys.stderr)
        for line in await coverage_warnings(runtime.app, utcnow()):
            print(f"heartguard worker: warning: {line}", file=sys.stderr)
        await run_until_stopped(runtime.scheduler)
    return 0
