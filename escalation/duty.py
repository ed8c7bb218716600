"""Duty as a counselor sees it: who is on duty now in my scope, and ad-hoc shifts.

An ad-hoc shift ("I am on duty from now") is stored as date overrides of kind "on", the same
rows the roster already reads, so the engine needs nothing new to alert the counselor: one
row for today from now, and one for tomorrow from midnight when the shift runs past it. The
minutes are in the school's local time (the district's for the district tier), as the roster
evaluates them. Ending it cuts today's rows at now and drops tomorrow's continuation; weekly
shifts belong to the administrators' roster and are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import HeartGuardError
from escalation.roster import ShiftSpec, on_duty
from storage.audit import audit
from storage.models import Counselor, CounselorSchool, DutyOverride, DutyShift, School

BOARD_SCHOOLS = 30  # a district counselor's board lists this many schools at most
MAX_SHIFT = timedelta(hours=24)
DEFAULT_SHIFT = timedelta(hours=8)


class DutyError(HeartGuardError):
    """A duty request that cannot be met; the message is safe to show to the counselor."""


@dataclass(frozen=True)
class SchoolDuty:
    """Who is on duty for one school."""

    school_id: int
    name: str
    on_duty: tuple[str, ...]


@dataclass(frozen=True)
class DutyBoard:
    """On duty now in a counselor's scope."""

    schools: tuple[SchoolDuty, ...]
    more_schools: int
    district: tuple[str, ...]
    district_fallback: bool  # nobody rostered: alerts go to the whole district team


@dataclass(frozen=True)
class _Place:
    tier: str
    school_id: int | None
    zone: str


async def _counselor(session: AsyncSession, counselor_id: int) -> Counselor:
    counselor = await session.get(Counselor, counselor_id)
    if counselor is None or not counselor.active:
        raise DutyError(f"counselor {counselor_id} is not active")
    return counselor


async def _schools(session: AsyncSession, counselor: Counselor) -> list[School]:
    query = select(School).order_by(School.code)
    if counselor.scope != "district":
        query = query.where(
            School.id.in_(
                select(CounselorSchool.school_id).where(
                    CounselorSchool.counselor_id == counselor.id
                )
            )
        )
    return list((await session.scalars(query)).all())


async def _names(session: AsyncSession, ids: Sequence[int]) -> tuple[str, ...]:
    if not ids:
        return ()
    rows = await session.scalars(
        select(Counselor.name).where(Counselor.id.in_(ids)).order_by(Counselor.name)
    )
    return tuple(rows.all())


async def board(
    session: AsyncSession,
    counselor_id: int,
    now: datetime,
    *,
    district_zone: str,
    configured: Sequence[ShiftSpec] = (),
) -> DutyBoard:
    """Who is on duty now for the counselor's schools and for the district."""
    counselor = await _counselor(session, counselor_id)
    schools = await _schools(session, counselor)
    shown = []
    for school in schools[:BOARD_SCHOOLS]:
        ids = await on_duty(
            session,
            tier="school",
            school_id=school.id,
            now=now,
            zone=school.timezone,
            configured=configured,
        )
        shown.append(SchoolDuty(school.id, school.name, await _names(session, ids)))
    ids = await on_duty(
        session, tier="district", school_id=None, now=now, zone=district_zone, configured=configured
    )
    fallback = not ids
    if fallback:
        # The roster's own fallback: with no district shift, the whole crisis team is alerted.
        ids = list(
            (
                await session.scalars(
                    select(Counselor.id).where(
                        Counselor.role == "district_crisis", Counselor.active.is_(True)
                    )
                )
            ).all()
        )
    return DutyBoard(
        tuple(shown),
        max(0, len(schools) - BOARD_SCHOOLS),
        await _names(session, ids),
        fallback,
    )


async def _places(session: AsyncSession, counselor: Counselor, district_zone: str) -> list[_Place]:
    """Where this counselor's ad-hoc shift puts them on duty."""
    if counselor.role == "school_counselor":
        return [_Place("school", s.id, s.timezone) for s in await _schools(session, counselor)]
    if counselor.role == "district_crisis":
        return [_Place("district", None, district_zone)]
    raise DutyError("only school counselors and the district crisis team take duty")


def _today(now: datetime, zone: str) -> tuple[date, int]:
    local = now.astimezone(ZoneInfo(zone))
    return local.date(), local.hour * 60 + local.minute


def _audit(
    session: AsyncSession, counselor_id: int, action: str, now: datetime, **details: object
) -> None:
    audit(
        session,
        now=now,
        actor=f"counselor:{counselor_id}",
        action=action,
        subject_type="counselor",
        subject_id=counselor_id,
        **details,
    )


async def start_shift(
    session: AsyncSession,
    counselor_id: int,
    now: datetime,
    *,
    length: timedelta = DEFAULT_SHIFT,
    district_zone: str,
) -> datetime:
    """Put the counselor on duty from now for ``length``; returns when it ends (UTC).

    A shift already running is replaced; a day off recorded for today no longer holds,
    since the counselor says they are working.
    """
    if not timedelta(minutes=1) <= length <= MAX_SHIFT:
        raise DutyError("a shift lasts from 1 minute to 24 hours")
    counselor = await _counselor(session, counselor_id)
    places = await _places(session, counselor, district_zone)
    if not places:
        raise DutyError("no school to be on duty for")
    await _cut(session, counselor_id, now, district_zone)
    minutes = int(length / timedelta(minutes=1))
    for place in places:
        day, minute = _today(now, place.zone)
        await session.execute(
            delete(DutyOverride).where(
                DutyOverride.counselor_id == counselor_id,
                DutyOverride.day == day,
                DutyOverride.kind == "off",
            )
        )
        end = minute + minutes
        rows = [(day, minute, min(end, 1440))]
        if end > 1440:
            rows.append((day + timedelta(days=1), 0, end - 1440))
        session.add_all(
            DutyOverride(
                counselor_id=counselor_id,
                day=on,
                kind="on",
                tier=place.tier,
                school_id=place.school_id,
                start_minute=start,
                end_minute=stop,
                created_at=now,
            )
            for on, start, stop in rows
        )
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    _audit(session, counselor_id, "duty_started", now, minutes=minutes, places=len(places))
    return until


async def _cut(session: AsyncSession, counselor_id: int, now: datetime, district_zone: str) -> int:
    """End the counselor's running and coming ad-hoc rows at now; returns how many changed."""
    rows = (
        await session.scalars(
            select(DutyOverride).where(
                DutyOverride.counselor_id == counselor_id, DutyOverride.kind == "on"
            )
        )
    ).all()
    zones = dict((await session.execute(select(School.id, School.timezone))).all())
    changed = 0
    for row in rows:
        zone = zones.get(row.school_id, district_zone) if row.school_id else district_zone
        day, minute = _today(now, zone)
        if row.day == day and row.end_minute > minute:
            if row.start_minute >= minute:
                await session.delete(row)
            else:
                row.end_minute = minute
            changed += 1
        elif row.day == day + timedelta(days=1) and row.start_minute == 0:
            await session.delete(row)  # the part of a shift that ran past midnight
            changed += 1
    return changed


async def end_shift(
    session: AsyncSession,
    counselor_id: int,
    now: datetime,
    *,
    district_zone: str,
    configured: Sequence[ShiftSpec] = (),
) -> tuple[bool, bool]:
    """End the counselor's ad-hoc shift now: (whether one was running, still on the roster)."""
    counselor = await _counselor(session, counselor_id)
    ended = await _cut(session, counselor_id, now, district_zone) > 0
    if ended:
        _audit(session, counselor_id, "duty_ended", now)
    await session.flush()
    still = False
    for place in await _places(session, counselor, district_zone):
        ids = await on_duty(
            session,
            tier=place.tier,
            school_id=place.school_id,
            now=now,
            zone=place.zone,
            configured=configured,
        )
        still = still or counselor_id in ids
    return ended, still


def round_the_clock(
    session: AsyncSession, counselor_id: int, *, tier: str, school_id: int | None, now: datetime
) -> None:
    """A weekly shift for every day, all day: the demo's counselor, and test and bench setups."""
    session.add_all(
        DutyShift(
            counselor_id=counselor_id,
            tier=tier,
            school_id=school_id,
            weekday=day,
            start_minute=0,
            end_minute=1440,
            created_at=now,
        )
        for day in range(7)
    )
