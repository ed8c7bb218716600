"""Who can actually be reached: on duty, active, and with a contact on a working channel.

The green channel must never let the bot promise what it cannot do. A counselor on duty whose
only contact is an e-mail address, with no SMTP server configured, is not reachable; neither
is one whose only contact is a phone number, for which HeartGuard has no channel. This module
answers two questions from one snapshot of the roster:

- right now, for one student's school: is a school counselor reachable, only the district's
  crisis team, or nobody (what the crisis reply may say);
- over the next days, for every school and the district: the hours when nobody is
  reachable, and the contacts whose channel is not configured (``heartguard duty check``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.roster import Recipient, ShiftSpec, configured_on_duty, select_on_duty
from storage.models import Counselor, CounselorContact, CounselorSchool, DutyOverride, DutyShift
from storage.models import School as SchoolRow


class Reach(enum.StrEnum):
    """Who a crisis reaches now, as the student may be told."""

    SCHOOL = "school"  # a counselor of the student's school
    DISTRICT = "district"  # only the district's crisis team
    LATER = "later"  # nobody now; someone during the coming days (routine follow-up)
    NOBODY = "nobody"  # nobody at all


@dataclass(frozen=True)
class Gap:
    """A span of local time when nobody on a tier can be reached."""

    start: datetime
    end: datetime


@dataclass
class Snapshot:
    """The roster as of one read: shifts, overrides, counselors and their usable contacts."""

    channels: frozenset[str]
    configured: tuple[ShiftSpec, ...]
    shifts: list[DutyShift] = field(default_factory=list)
    overrides: list[DutyOverride] = field(default_factory=list)
    schools: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # code, name, zone
    active: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> name, role
    reachable: set[int] = field(default_factory=set)  # active, with a usable contact
    unusable: list[tuple[int, str, str]] = field(default_factory=list)  # id, name, channel

    def on_duty(self, tier: str, school_id: int | None, at: datetime, zone: str) -> set[int]:
        """Counselors on duty and reachable for a tier at ``at``."""
        local = at.astimezone(ZoneInfo(zone))
        weekday, minute = local.weekday(), local.hour * 60 + local.minute
        if tier == "school" and school_id is None:
            return set()
        code = self.schools.get(school_id, ("", "", ""))[0] if school_id is not None else None
        ids = select_on_duty(
            self.shifts,
            self.overrides,
            configured_on_duty(
                self.configured, tier=tier, school_code=code, weekday=weekday, minute=minute
            ),
            tier=tier,
            school_id=school_id,
            weekday=weekday,
            minute=minute,
            day=local.date(),
        )
        if not ids and tier == "district":
            # A 24-hour service: with no district shift on record, the whole team is paged.
            ids = {i for i, (_, role) in self.active.items() if role == "district_crisis"}
        return {i for i in ids if i in self.reachable}


async def snapshot(
    session: AsyncSession,
    *,
    channels: Collection[str],
    configured: Sequence[ShiftSpec] = (),
    since: datetime | None = None,
) -> Snapshot:
    """Read the roster once (overrides from ``since`` on, all of them when None)."""
    snap = Snapshot(frozenset(channels), tuple(configured))
    snap.shifts = list((await session.scalars(select(DutyShift))).all())
    overrides = select(DutyOverride)
    if since is not None:
        overrides = overrides.where(DutyOverride.day >= (since - timedelta(days=1)).date())
    snap.overrides = list((await session.scalars(overrides)).all())
    for school in (await session.scalars(select(SchoolRow))).all():
        snap.schools[school.id] = (school.code, school.name, school.timezone)
    for ident, name, role in (
        await session.execute(
            select(Counselor.id, Counselor.name, Counselor.role).where(Counselor.active.is_(True))
        )
    ).all():
        snap.active[ident] = (name, role)
    for ident, channel in (
        await session.execute(select(CounselorContact.counselor_id, CounselorContact.channel))
    ).all():
        if ident not in snap.active:
            continue
        if channel in snap.channels:
            snap.reachable.add(ident)
        else:
            snap.unusable.append((ident, snap.active[ident][0], channel))
    return snap


def reach_now(
    snap: Snapshot,
    *,
    school_id: int | None,
    now: datetime,
    district_zone: str,
    horizon: timedelta = timedelta(days=7),
) -> Reach:
    """Who a case for a student of this school reaches now (LATER: within ``horizon``)."""
    if not snap.reachable:
        # Nobody has a usable contact, so nobody is on duty at any hour: the week's scan of
        # half-hours below (hundreds of zone conversions) would only say so.
        return Reach.NOBODY
    zone = snap.schools.get(school_id, ("", "", district_zone))[2] if school_id else district_zone
    if snap.on_duty("school", school_id, now, zone):
        return Reach.SCHOOL
    if snap.on_duty("district", None, now, district_zone):
        return Reach.DISTRICT
    step = timedelta(minutes=30)
    at = now + step
    while at <= now + horizon:
        if snap.on_duty("school", school_id, at, zone) or snap.on_duty(
            "district", None, at, district_zone
        ):
            return Reach.LATER
        at += step
    return Reach.NOBODY


def gaps(
    snap: Snapshot,
    *,
    tier: str,
    school_id: int | None,
    start: datetime,
    days: int,
    zone: str,
    step: timedelta = timedelta(minutes=30),
) -> list[Gap]:
    """Spans over the next ``days`` when nobody on this tier can be reached (local times)."""
    found: list[Gap] = []
    open_at: datetime | None = None
    tz = ZoneInfo(zone)
    # Start on a step boundary in local time so the gaps read as "08:00–17:00", not "08:13".
    local = start.astimezone(tz).replace(second=0, microsecond=0)
    local -= timedelta(minutes=local.minute % int(step.total_seconds() // 60))
    end = local + timedelta(days=days)
    at = local
    while at < end:
        empty = not snap.on_duty(tier, school_id, at, zone)
        if empty and open_at is None:
            open_at = at
        elif not empty and open_at is not None:
            found.append(Gap(open_at, at))
            open_at = None
        at += step
    if open_at is not None:
        found.append(Gap(open_at, end))
    return found


async def school_counselors(session: AsyncSession, school_id: int) -> list[int]:
    """Active counselors attached to a school (for the coverage report)."""
    rows = await session.scalars(
        select(CounselorSchool.counselor_id)
        .join(Counselor, Counselor.id == CounselorSchool.counselor_id)
        .where(CounselorSchool.school_id == school_id, Counselor.active.is_(True))
    )
    return list(rows.all())


def usable(people: Sequence[Recipient], channels: Collection[str]) -> list[Recipient]:
    """The recipients who have a contact on a working channel, with only those contacts."""
    out = []
    for person in people:
        contacts = tuple((c, a) for c, a in person.contacts if c in channels)
        if contacts:
            out.append(dataclasses.replace(person, contacts=contacts))
    return out


class ReachFinder:
    """Answers "who does a case for this student reach now?" for the crisis replies."""

    def __init__(
        self,
        channels: Collection[str],
        *,
        configured: Sequence[ShiftSpec] = (),
        district_zone: str = "Asia/Shanghai",
    ) -> None:
        self.channels = frozenset(channels)
        self.configured = tuple(configured)
        self.district_zone = district_zone

    async def find(
        self, session: AsyncSession, school_id: int | None, now: datetime, *, look_ahead: bool
    ) -> Reach:
        """SCHOOL, DISTRICT or NOBODY now; LATER too when ``look_ahead`` (routine follow-up)."""
        snap = await snapshot(
            session, channels=self.channels, configured=self.configured, since=now
        )
        return reach_now(
            snap,
            school_id=school_id,
            now=now,
            district_zone=self.district_zone,
            horizon=timedelta(days=7) if look_ahead else timedelta(0),
        )
