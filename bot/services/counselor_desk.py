"""What a counselor's desk needs from the database, for any channel: who is a counselor,
linking a chat, the queue, a case with its school, duty.

Someone is a counselor on a channel only because their chat is one of a counselor's contacts
on it (linked with a one-time code), never because of anything a message says. Actions and
case views go through escalation's CaseService, which checks scope and records the event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import counselor_links
from core.clock import Clock
from escalation import duty, ownership
from escalation.actions import Actor, CaseService
from escalation.queue import QueueItem, open_queue
from escalation.roster import ShiftSpec
from storage.models import (
    Case,
    CaseEvent,
    CheckinResult,
    Counselor,
    CounselorContact,
    School,
    SchoolClass,
    Student,
)

# How old the in-memory list of linked accounts may get (seconds); see CounselorDesk.who.
DIRECTORY_TTL = 30.0
# The instruments a counselor sees on a case, with the names clinicians use.
CASE_INSTRUMENTS = {"phq9": "PHQ-9", "gad7": "GAD-7", "asq": "ASQ"}
# Check-ins this long before a case opened belong to it (what led up to it).
SCORES_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class Score:
    """A scored instrument on a case, as a counselor reads it."""

    at: datetime
    label: str
    score: int | None
    band: str


@dataclass(frozen=True)
class CaseSubject:
    """Who a case is about: name, school, class, the school's zone and their scores."""

    name: str
    number: str | None
    school: str | None
    class_name: str | None
    timezone: str | None
    scores: tuple[Score, ...]


async def case_subject(session: AsyncSession, case: Case) -> CaseSubject:
    """The student behind a case and the PHQ-9, GAD-7 and ASQ results that belong to it.

    Only for someone the case service has let see the case (the view is recorded there).
    """
    student = await session.get(Student, case.student_id)
    school = await session.get(School, case.school_id) if case.school_id else None
    klass = (
        await session.get(SchoolClass, student.class_id)
        if student is not None and student.class_id
        else None
    )
    query = (
        select(CheckinResult)
        .where(
            CheckinResult.student_id == case.student_id,
            CheckinResult.instrument.in_(tuple(CASE_INSTRUMENTS)),
            CheckinResult.created_at >= case.created_at - SCORES_BEFORE,
        )
        .order_by(CheckinResult.created_at, CheckinResult.id)
    )
    if case.closed_at is not None:
        query = query.where(CheckinResult.created_at <= case.closed_at)
    results = (await session.scalars(query)).all()
    return CaseSubject(
        name=student.display_name if student is not None else "?",
        number=student.student_number if student is not None else None,
        school=f"{school.code} {school.name}" if school is not None else None,
        class_name=klass.name if klass is not None else None,
        timezone=school.timezone if school is not None else None,
        scores=tuple(
            Score(r.created_at, CASE_INSTRUMENTS[r.instrument], r.score, r.band) for r in results
        ),
    )


@dataclass(frozen=True)
class Who:
    """The counselor behind a chat."""

    counselor_id: int
    name: str


@dataclass(frozen=True)
class CaseView:
    """A case, its timeline and its school's name, as a counselor sees it."""

    case: Case
    events: Sequence[CaseEvent]
    school: str | None
    # Who holds the student's chat (escalation.takeover states) and, for a person, their name.
    owner: str = "bot"
    owner_name: str | None = None
    notes: Mapping[int, str] = field(default_factory=dict)  # event id → note, decrypted
    owner_id: int | None = None


class CounselorDesk:
    """Counselor identity, queue, case views and duty for one channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cases: CaseService,
        *,
        channel: str,
        clock: Clock,
        district_zone: str,
        configured: Sequence[ShiftSpec] = (),
    ) -> None:
        self.sessions = sessions
        self.cases = cases
        self.channel = channel
        self.clock = clock
        self.district_zone = district_zone
        self.configured = tuple(configured)
        self._linked: frozenset[str] = frozenset()
        self._linked_at = -DIRECTORY_TTL

    async def _maybe_linked(self, address: str) -> bool:
        """Whether this address may be a linked counselor's, from a list up to 30 s old.

        Every private message asks, and nearly all come from students: reading the short list
        of linked accounts twice a minute, instead of the database per message, saves a
        transaction on each. A "yes" is always checked against the database (so an unlinked
        or deactivated counselor loses access at once); a "no" may be up to DIRECTORY_TTL old
        only for an account linked through another process (this one adds its own links at
        once), which is then answered as a student until the list is read again.
        """
        now = time.monotonic()
        if now - self._linked_at >= DIRECTORY_TTL:
            async with self.sessions() as session:
                addresses = await session.scalars(
                    select(CounselorContact.address).where(CounselorContact.channel == self.channel)
                )
                self._linked = frozenset(addresses)
            self._linked_at = now
        return address in self._linked

    async def who(self, address: str) -> Who | None:
        """The active counselor linked to this chat address, if any."""
        if not await self._maybe_linked(address):
            return None
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Counselor.id, Counselor.name)
                    .join(CounselorContact, CounselorContact.counselor_id == Counselor.id)
                    .where(
                        CounselorContact.channel == self.channel,
                        CounselorContact.address == address,
                        Counselor.active.is_(True),
                    )
                    .order_by(CounselorContact.id)
                    .limit(1)
                )
            ).first()
        return Who(row[0], row[1]) if row is not None else None

    async def link(self, code: str, address: str) -> counselor_links.LinkResult:
        """Spend a link code: this chat becomes the counselor's first contact here."""
        async with self.sessions.begin() as session:
            result = await counselor_links.redeem(
                session, code, channel=self.channel, address=address, now=self.clock()
            )
        if result.counselor_id is not None:
            self._linked |= {address}
        return result

    async def queue(self, who: Who, limit: int) -> Sequence[QueueItem]:
        """Open cases in the counselor's scope, most urgent and longest waiting first."""
        async with self.sessions() as session:
            return await open_queue(session, Actor.counselor(who.counselor_id), limit=limit)

    async def view(self, case_id: int, who: Who) -> CaseView:
        """A case and its timeline (scope-checked; the view is recorded)."""
        case, events = await self.cases.view(
            case_id, Actor.counselor(who.counselor_id), self.clock()
        )
        async with self.sessions() as session:
            school = await session.get(School, case.school_id) if case.school_id else None
            held = ownership.ownership_of(
                await ownership.load(session, case.student_id, lock=False)
            )
            holder = await session.get(Counselor, held.counselor_id) if held.counselor_id else None
        notes = {e.id: note for e in events if (note := self.cases.note(e)) is not None}
        return CaseView(
            case,
            events,
            school.name if school else None,
            held.state.value,
            holder.name if holder is not None else None,
            notes,
            held.counselor_id,
        )

    async def case(self, case_id: int) -> Case | None:
        """A case's current row (to explain a refusal), without its timeline."""
        async with self.sessions() as session:
            return await session.get(Case, case_id)

    async def board(self, who: Who) -> duty.DutyBoard:
        """Who is on duty now for the counselor's schools and the district."""
        async with self.sessions() as session:
            return await duty.board(
                session,
                who.counselor_id,
                self.clock(),
                district_zone=self.district_zone,
                configured=self.configured,
            )

    async def start_shift(self, who: Who, length: timedelta) -> datetime:
        """An ad-hoc shift from now; returns when it ends (raises DutyError)."""
        async with self.sessions.begin() as session:
            return await duty.start_shift(
                session,
                who.counselor_id,
                self.clock(),
                length=length,
                district_zone=self.district_zone,
            )

    async def end_shift(self, who: Who) -> tuple[bool, bool]:
        """End the ad-hoc shift: (one was ended, still on a rostered shift)."""
        async with self.sessions.begin() as session:
            return await duty.end_shift(
                session,
                who.counselor_id,
                self.clock(),
                district_zone=self.district_zone,
                configured=self.configured,
            )
