"""Who is on duty: weekly shifts in local time, date overrides, and tier fallbacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Counselor, CounselorContact, DutyOverride, DutyShift, Hospital, School


@dataclass(frozen=True)
class Recipient:
    """Someone to alert, with their channels in preference order."""

    kind: str  # "counselor" | "hospital"
    ident: int
    name: str
    role: str
    contacts: tuple[tuple[str, str], ...]  # (channel, address)


@dataclass(frozen=True)
class ShiftSpec:
    """A weekly shift declared in configuration (beside the ones `heartguard duty` stores)."""

    counselor_id: int
    tier: str
    school_code: str | None
    weekdays: tuple[int, ...]
    start_minute: int
    end_minute: int


def _local(now: datetime, zone: str) -> tuple[int, int, object]:
    local = now.astimezone(ZoneInfo(zone))
    return local.weekday(), local.hour * 60 + local.minute, local.date()


def _within(minute: int, start: int, end: int) -> bool:
    # A window that wraps midnight (22:00–07:00) is stored with end < start.
    return start <= minute < end if start <= end else minute >= start or minute < end


def select_on_duty(
    shifts: Iterable[DutyShift],
    overrides: Iterable[DutyOverride],
    from_config: Iterable[int],
    *,
    tier: str,
    school_id: int | None,
    weekday: int,
    minute: int,
    day: object,
) -> set[int]:
    """Pure: who is on duty at one local moment, from the rows that could say so."""
    ids = {
        s.counselor_id
        for s in shifts
        if s.tier == tier
        and s.weekday == weekday
        and (tier != "school" or s.school_id == school_id)
        and _within(minute, s.start_minute, s.end_minute)
    }
    ids |= set(from_config)
    for override in overrides:
        if override.day != day:
            continue
        if override.kind == "off":
            ids.discard(override.counselor_id)
        elif (
            override.kind == "on"
            and override.tier == tier
            and (tier != "school" or override.school_id == school_id)
            and _within(minute, override.start_minute, override.end_minute)
        ):
            ids.add(override.counselor_id)
    return ids


def configured_on_duty(
    configured: Sequence[ShiftSpec],
    *,
    tier: str,
    school_code: str | None,
    weekday: int,
    minute: int,
) -> set[int]:
    """Counselors on duty at one local moment by the shifts the config file declares."""
    return {
        s.counselor_id
        for s in configured
        if s.tier == tier
        and weekday in s.weekdays
        and _within(minute, s.start_minute, s.end_minute)
        and (tier != "school" or (school_code is not None and s.school_code == school_code))
    }


async def on_duty(
    session: AsyncSession,
    *,
    tier: str,
    school_id: int | None,
    now: datetime,
    zone: str,
    configured: Sequence[ShiftSpec] = (),
) -> list[int]:
    """Counselor ids on duty for a tier (and school, for the school tier) at ``now``."""
    weekday, minute, day = _local(now, zone)
    if tier == "school" and school_id is None:
        return []
    code = None
    if tier == "school" and any(s.tier == "school" for s in configured):
        code = await session.scalar(select(School.code).where(School.id == school_id))
    from_config = configured_on_duty(
        configured, tier=tier, school_code=code, weekday=weekday, minute=minute
    )
    query = select(DutyShift).where(DutyShift.tier == tier, DutyShift.weekday == weekday)
    if tier == "school":
        query = query.where(DutyShift.school_id == school_id)
    shifts = (await session.scalars(query)).all()
    overrides = (await session.scalars(select(DutyOverride).where(DutyOverride.day == day))).all()
    ids = select_on_duty(
        shifts,
        overrides,
        from_config,
        tier=tier,
        school_id=school_id,
        weekday=weekday,
        minute=minute,
        day=day,
    )
    return sorted(ids)


async def recipients(
    session: AsyncSession,
    *,
    tier: str,
    school_id: int | None,
    now: datetime,
    zone: str,
    configured: Sequence[ShiftSpec] = (),
) -> list[Recipient]:
    """Everyone to alert for a tier; empty means nobody is on duty (go to the next tier)."""
    if tier == "hospital":
        hospitals = (
            await session.scalars(
                select(Hospital).where(Hospital.active.is_(True), Hospital.disabled_at.is_(None))
            )
        ).all()
        return [
            Recipient("hospital", h.id, h.name, "hospital", ((h.channel, h.address),))
            for h in hospitals
        ]
    ids = await on_duty(
        session, tier=tier, school_id=school_id, now=now, zone=zone, configured=configured
    )
    if not ids and tier == "district":
        # The district crisis team is a 24-hour service: with no shift on record, all of it.
        ids = list(
            (
                await session.scalars(
                    select(Counselor.id).where(
                        Counselor.role == "district_crisis", Counselor.active.is_(True)
                    )
                )
            ).all()
        )
    if not ids:
        return []
    counselors = (
        await session.scalars(
            select(Counselor).where(Counselor.id.in_(ids), Counselor.active.is_(True))
        )
    ).all()
    contacts = (
        await session.scalars(
            select(CounselorContact)
            .where(CounselorContact.counselor_id.in_(ids))
            .order_by(CounselorContact.counselor_id, CounselorContact.rank)
        )
    ).all()
    by_counselor: dict[int, list[tuple[str, str]]] = {}
    for contact in contacts:
        by_counselor.setdefault(contact.counselor_id, []).append((contact.channel, contact.address))
    return [
        Recipient("counselor", c.id, c.name, c.role, tuple(by_counselor.get(c.id, [])))
        for c in counselors
        if by_counselor.get(c.id)
    ]
