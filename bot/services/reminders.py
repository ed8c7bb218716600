"""Reminders: weekly check-ins, one follow-up nudge, caring contacts after a case closes, and
a counselor alert when a student with a recent case stops checking in.

One tick a minute plans from the database, claims each reminder with a unique row (so several
processes never double-send), and sends under the channel's rate limit, honouring
``retry_after``. A refused delivery (the student blocked the bot) marks the student
unreachable, which their counselor sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.port import Delivery, DeliveryResult, StudentPort
from bot.config.settings import Settings
from bot.services.reminder_plan import due_weekly, slot_for
from bot.services.render import Outbound, Renderer
from bot.services.students import mark_unreachable
from escalation.requests import request_case
from storage.models import (
    Case,
    ChannelIdentity,
    CheckinResult,
    ReminderDelivery,
    School,
    SchoolClass,
    Student,
)

log = logging.getLogger(__name__)
MAX_RETRIES = 3
# A claim this old was made by a process that died before sending it.
ORPHANED_AFTER = timedelta(minutes=2)
# Students read per page when planning weekly reminders (about 20 ms of the loop each).
PLAN_PAGE = 1000


@dataclass(frozen=True)
class Planned:
    """A reminder to claim and send."""

    student_id: int
    chat_id: str
    language: str
    kind: str
    slot: str


@dataclass
class ReminderReport:
    """What one tick did."""

    planned: int = 0
    claimed: int = 0
    sent: int = 0
    unreachable: int = 0
    failed: int = 0
    alerts: int = 0
    retries: int = 0
    texts: dict[str, int] = field(default_factory=dict)


class ReminderRunner:
    """Plans, claims and sends reminders for one channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        renderer: Renderer,
        port: StudentPort,
        *,
        channel: str = "telegram",
        rate: float | None = 29.0,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.renderer = renderer
        self.port = port
        self.channel = channel
        # Telegram allows about 30 messages a second overall. A bucket of one, refilled
        # every 1/rate seconds, paces sends evenly: a bigger bucket would allow a burst that,
        # added to the steady rate, breaks the limit inside one second.
        self.limiter = AsyncLimiter(1, 1.0 / (rate or 29.0))

    async def tick(self, now: datetime) -> ReminderReport:
        """One pass: plan, claim, send."""
        report = ReminderReport()
        if not self.settings.reminders.enabled:
            return report
        async with self.sessions() as session:
            planned = [
                *await self.plan_weekly(session, now),
                *await self._plan_nudges(session, now),
                *await self._plan_caring(session, now),
            ]
        report.planned = len(planned)
        report.alerts = await self._missed_checkins(now)
        claimed = await self._claim(planned, now) + await self._orphans(now)
        report.claimed = len(claimed)
        await self._send(claimed, now, report)
        return report

    async def _orphans(self, now: datetime) -> list[tuple[int, Planned]]:
        """Claims whose process died before sending: take them over, so nobody is skipped.

        Rows already "sending" are left alone: the send may have happened.
        """
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    update(ReminderDelivery)
                    .where(
                        ReminderDelivery.status == "claimed",
                        ReminderDelivery.claimed_at < now - ORPHANED_AFTER,
                    )
                    .values(claimed_at=now)
                    .returning(
                        ReminderDelivery.id,
                        ReminderDelivery.student_id,
                        ReminderDelivery.kind,
                        ReminderDelivery.slot,
                    )
                )
            ).all()
            if not rows:
                return []
            people = dict(
                (
                    await session.execute(
                        select(Student.id, Student.language).where(
                            Student.id.in_([sid for _, sid, _, _ in rows])
                        )
                    )
                ).all()
            )
            chats = dict(
                (
                    await session.execute(
                        select(ChannelIdentity.student_id, ChannelIdentity.external_id).where(
                            ChannelIdentity.channel == self.channel,
                            ChannelIdentity.student_id.in_([sid for _, sid, _, _ in rows]),
                        )
                    )
                ).all()
            )
        return [
            (rid, Planned(sid, chats[sid], people.get(sid, "zh"), kind, slot))
            for rid, sid, kind, slot in rows
            if sid in chats
        ]

    async def plan_weekly(self, session: AsyncSession, now: datetime) -> list[Planned]:
        """Students whose weekly reminder is due now and not yet claimed.

        Read in pages by student id, handing the event loop back between pages: the bot
        shares this loop, and a district's whole roster read at once held every student's
        messages (a crisis too) for most of a second, once a minute.
        """
        reminders = self.settings.reminders
        default_zone = self.settings.schools.default_timezone
        due: list[Planned] = []
        after = 0
        while True:
            rows = (
                await session.execute(
                    select(
                        Student.id,
                        Student.language,
                        Student.reminder_weekday,
                        Student.reminder_minute,
                        SchoolClass.reminder_weekday,
                        SchoolClass.reminder_minute,
                        School.timezone,
                        ChannelIdentity.chat_id,
                        ChannelIdentity.external_id,
                    )
                    .join(
                        ChannelIdentity,
                        and_(
                            ChannelIdentity.student_id == Student.id,
                            ChannelIdentity.channel == self.channel,
                        ),
                    )
                    .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
                    .outerjoin(School, School.id == Student.school_id)
                    .where(
                        Student.id > after,
                        Student.reminder_opt_in.is_(True),
                        Student.status == "active",
                        Student.onboarded.is_(True),
                    )
                    .order_by(Student.id)
                    .limit(PLAN_PAGE)
                )
            ).all()
            for sid, lang, s_day, s_min, c_day, c_min, zone, chat, external in rows:
                slot = slot_for(
                    reminders, zone or default_zone, student=(s_day, s_min), klass=(c_day, c_min)
                )
                key = due_weekly(reminders, slot, now)
                if key is not None:
                    due.append(Planned(sid, chat or external, lang, "weekly", key))
            if len(rows) < PLAN_PAGE:
                break
            after = rows[-1][0]
            await asyncio.sleep(0)  # let waiting messages in
        return await self._unclaimed(session, due)

    async def _unclaimed(self, session: AsyncSession, planned: list[Planned]) -> list[Planned]:
        slots = {p.slot for p in planned}
        if not slots:
            return []
        taken = set(
            (
                await session.execute(
                    select(ReminderDelivery.student_id, ReminderDelivery.slot).where(
                        ReminderDelivery.slot.in_(slots)
                    )
                )
            ).all()
        )
        return [p for p in planned if (p.student_id, p.slot) not in taken]

    async def _plan_nudges(self, session: AsyncSession, now: datetime) -> list[Planned]:
        after = self.settings.reminders.follow_up_after
        rows = (
            await session.execute(
                select(
                    ReminderDelivery.student_id,
                    ReminderDelivery.slot,
                    Student.language,
                    ChannelIdentity.chat_id,
                    ChannelIdentity.external_id,
                )
                .join(Student, Student.id == ReminderDelivery.student_id)
                .join(
                    ChannelIdentity,
                    and_(
                        ChannelIdentity.student_id == Student.id,
                        ChannelIdentity.channel == self.channel,
                    ),
                )
                .where(
                    ReminderDelivery.kind == "weekly",
                    ReminderDelivery.status == "sent",
                    ReminderDelivery.sent_at <= now - after,
                    ReminderDelivery.sent_at > now - after - timedelta(days=3),
                    Student.status == "active",
                    Student.reminder_opt_in.is_(True),
                    ~exists().where(
                        CheckinResult.student_id == ReminderDelivery.student_id,
                        CheckinResult.created_at >= ReminderDelivery.sent_at,
                    ),
                )
            )
        ).all()
        planned = [
            Planned(sid, chat or ext, lang, "nudge", slot.replace("weekly:", "nudge:"))
            for sid, slot, lang, chat, ext in rows
        ]
        return await self._unclaimed(session, planned)

    async def _plan_caring(self, session: AsyncSession, now: datetime) -> list[Planned]:
        days = self.settings.reminders.caring_contact_days
        if not days:
            return []
        oldest = now - timedelta(days=max(days) + 2)
        rows = (
            await session.execute(
                select(
                    Case.id,
                    Case.closed_at,
                    Student.id,
                    Student.language,
                    ChannelIdentity.chat_id,
                    ChannelIdentity.external_id,
                )
                .join(Student, Student.id == Case.student_id)
                .join(
                    ChannelIdentity,
                    and_(
                        ChannelIdentity.student_id == Student.id,
                        ChannelIdentity.channel == self.channel,
                    ),
                )
                .where(
                    Case.status.in_(("resolved", "closed")),
                    Case.closed_at >= oldest,
                    Student.status == "active",
                )
            )
        ).all()
        planned = []
        for case_id, closed_at, sid, lang, chat, ext in rows:
            if closed_at is None:
                continue
            for day in days:
                at = closed_at + timedelta(days=day)
                if at <= now < at + timedelta(days=2):
                    planned.append(
                        Planned(sid, chat or ext, lang, "caring", f"caring:{case_id}:d{day}")
                    )
        return await self._unclaimed(session, planned)

    async def _missed_checkins(self, now: datetime) -> int:
        """A routine case request when a student with a recent case misses N check-ins."""
        needed = self.settings.reminders.missed_checkins_alert
        since = now - self.settings.reminders.recent_case_window
        created = 0
        async with self.sessions() as session, session.begin():
            students = (
                await session.scalars(
                    select(Case.student_id).where(Case.created_at >= since).distinct()
                )
            ).all()
            for sid in students:
                weekly = (
                    await session.execute(
                        select(ReminderDelivery.slot, ReminderDelivery.sent_at)
                        .where(
                            ReminderDelivery.student_id == sid,
                            ReminderDelivery.kind == "weekly",
                            ReminderDelivery.status == "sent",
                        )
                        .order_by(ReminderDelivery.sent_at.desc())
                        .limit(needed)
                    )
                ).all()
                if len(weekly) < needed:
                    continue
                latest_slot, latest_at = weekly[0]
                earliest_at = weekly[-1][1]
                if (
                    latest_at is None
                    or earliest_at is None
                    or (now - latest_at < self.settings.reminders.follow_up_after)
                ):
                    continue
                answered = await session.scalar(
                    select(CheckinResult.id)
                    .where(CheckinResult.student_id == sid, CheckinResult.created_at >= earliest_at)
                    .limit(1)
                )
                if answered is not None:
                    continue
                slot = latest_slot.replace("weekly:", "missed:")
                if await self._claim_one(session, sid, "missed", slot, now):
                    request_case(
                        session,
                        student_id=sid,
                        priority="routine",
                        reason="missed_checkins",
                        now=now,
                        details={"missed": needed},
                    )
                    created += 1
                    log.info(
                        "student %s missed %s check-ins after a case: counselor alerted",
                        sid,
                        needed,
                    )
        return created

    async def _claim_one(
        self, session: AsyncSession, student_id: int, kind: str, slot: str, now: datetime
    ) -> bool:
        insert = _insert_for(session)
        result = await session.execute(
            insert(ReminderDelivery)
            # Only a marker that this alert was raised: nothing to send, so never "claimed".
            .values(
                student_id=student_id,
                kind=kind,
                slot=slot,
                status="done",
                claimed_at=now,
                sent_at=now,
            )
            .on_conflict_do_nothing(index_elements=["student_id", "slot"])
            .returning(ReminderDelivery.id)
        )
        return result.first() is not None

    async def _claim(self, planned: list[Planned], now: datetime) -> list[tuple[int, Planned]]:
        """Insert claim rows; only rows this process inserted are its to send."""
        if not planned:
            return []
        mine: list[tuple[int, Planned]] = []
        async with self.sessions() as session, session.begin():
            insert = _insert_for(session)
            by_key = {(p.student_id, p.slot): p for p in planned}
            for start in range(0, len(planned), 500):
                chunk = planned[start : start + 500]
                result = await session.execute(
                    insert(ReminderDelivery)
                    .values(
                        [
                            {
                                "student_id": p.student_id,
                                "kind": p.kind,
                                "slot": p.slot,
                                "status": "claimed",
                                "claimed_at": now,
                            }
                            for p in chunk
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=["student_id", "slot"])
                    .returning(
                        ReminderDelivery.id, ReminderDelivery.student_id, ReminderDelivery.slot
                    )
                )
                mine += [(rid, by_key[(sid, slot)]) for rid, sid, slot in result.all()]
        return mine

    async def _send(
        self, claimed: list[tuple[int, Planned]], now: datetime, report: ReminderReport
    ) -> None:
        if not claimed:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(ReminderDelivery)
                .where(ReminderDelivery.id.in_([rid for rid, _ in claimed]))
                .values(status="sending")
            )
        results = await asyncio.gather(*(self._deliver(p, report) for _, p in claimed))
        await self._record(list(zip(claimed, results, strict=True)), now, report)

    async def _deliver(self, planned: Planned, report: ReminderReport) -> DeliveryResult:
        text = self.renderer.text(f"reminder.{_TEXT[planned.kind]}", planned.language)
        result = DeliveryResult(Delivery.FAILED, error="not sent")
        for _ in range(MAX_RETRIES + 1):
            async with self.limiter:
                result = await self.port.deliver(
                    planned.chat_id, [Outbound(text, purpose="reminder")]
                )
            if result.status is not Delivery.RETRY:
                return result
            report.retries += 1
            # Telegram says how long to wait; everyone waits, not just this message.
            await asyncio.sleep(max(0.0, result.retry_after))
        return result

    async def _record(
        self,
        done: Iterable[tuple[tuple[int, Planned], DeliveryResult]],
        now: datetime,
        report: ReminderReport,
    ) -> None:
        async with self.sessions() as session, session.begin():
            for (rid, planned), result in done:
                row = await session.get(ReminderDelivery, rid)
                if row is None:
                    continue
                report.texts[planned.kind] = report.texts.get(planned.kind, 0) + 1
                if result.status is Delivery.DELIVERED:
                    row.status, row.sent_at = "sent", now
                    report.sent += 1
                elif result.status is Delivery.BLOCKED:
                    row.status, row.error = "unreachable", "blocked by the student"
                    await self._unreachable(session, planned.student_id, now)
                    report.unreachable += 1
                else:
                    row.status, row.error = "failed", result.error[:200]
                    report.failed += 1

    async def _unreachable(self, session: AsyncSession, student_id: int, now: datetime) -> None:
        if await mark_unreachable(session, student_id, now, why="reminder refused"):
            log.warning("student %s blocked the bot; marked unreachable", student_id)


_TEXT = {"weekly": "weekly", "nudge": "nudge", "caring": "caring"}


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING on both databases."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
