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
from sqlalchemy import (
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.channels.port import Delivery, DeliveryResult, StudentPort
from bot.config.settings import Settings
from bot.services.reminder_plan import DueWindow, due_window
from bot.services.render import Outbound, Renderer
from bot.services.students import mark_unreachable
from core.clock import WEEKDAYS
from escalation.requests import request_case
from storage.db import read_sessions
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
# Students (by id) or reminder rows read per planning statement. The bot shares this loop,
# and on SQLite each statement runs on the loop's thread: a page is a few milliseconds, and
# the loop runs waiting messages between pages.
PLAN_PAGE = 500
# Reminders claimed, sent and recorded per round of a tick. A district's Friday is tens of
# thousands of reminders: in rounds, no statement, claim transaction or burst of sends
# grows with the roster, and the next round plans afresh (another process may have sent).
BATCH = 1000
# Sends in flight at once: enough to fill Telegram's 30 a second at ordinary latencies.
SENDERS = 16
# How long after a case closes each caring contact may still go out.
CARING_WINDOW = timedelta(days=2)
# How long after its due time a nudge may still go out.
NUDGE_WINDOW = timedelta(days=3)


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
        # Planning only reads: on SQLite it must not hold the write lock other processes need.
        self.readers = read_sessions(sessions)
        self.settings = settings
        self.renderer = renderer
        self.port = port
        self.channel = channel
        # Telegram allows about 30 messages a second overall. A bucket of one, refilled
        # every 1/rate seconds, paces sends evenly: a bigger bucket would allow a burst that,
        # added to the steady rate, breaks the limit inside one second.
        self.limiter = AsyncLimiter(1, 1.0 / (rate or 29.0))

    async def tick(self, now: datetime) -> ReminderReport:
        """One pass: plan, claim and send everything due, a bounded round at a time."""
        report = ReminderReport()
        if not self.settings.reminders.enabled:
            return report
        report.alerts = await self._missed_checkins(now)
        orphans = await self._orphans(now)
        room = BATCH - len(orphans)
        while True:
            planned = await self.plan(now, room) if room > 0 else []
            claimed = orphans + await self._claim(planned, now)
            report.planned += len(planned)
            report.claimed += len(claimed)
            await self._send(claimed, now, report)
            # A short round means nothing more is due; a round that claimed nothing means
            # another process is sending the rest.
            if len(planned) < room or not claimed:
                return report
            orphans, room = [], BATCH

    async def plan(self, now: datetime, limit: int = BATCH) -> list[Planned]:
        """Up to ``limit`` reminders due now and not yet claimed: weekly, nudges, caring."""
        planned: list[Planned] = []
        async with self.readers() as session:
            for kind in (self.plan_weekly, self._plan_nudges, self._plan_caring):
                if len(planned) >= limit:
                    break
                planned += await kind(session, now, limit=limit - len(planned))
        return planned

    async def _orphans(self, now: datetime) -> list[tuple[int, Planned]]:
        """Claims whose process died before sending: take them over, so nobody is skipped.

        Rows already "sending" are left alone: the send may have happened.
        """
        stale = (
            ReminderDelivery.status == "claimed",
            ReminderDelivery.claimed_at < now - ORPHANED_AFTER,
        )
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    update(ReminderDelivery)
                    .where(
                        *stale,
                        ReminderDelivery.id.in_(
                            select(ReminderDelivery.id).where(*stale).limit(BATCH)
                        ),
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

    async def plan_weekly(
        self, session: AsyncSession, now: datetime, *, limit: int = BATCH
    ) -> list[Planned]:
        """Students whose weekly reminder is due now and not yet claimed, up to ``limit``.

        The query filters by time: for each school time zone, only students whose slot
        (their own, their class's or the default) falls in the window due now, and who have
        no claim for this week. The roster is read in pages of student ids, handing the
        event loop back between pages, so no statement grows with the district.
        """
        reminders = self.settings.reminders
        default_zone = self.settings.schools.default_timezone
        zones = {default_zone, *(await session.scalars(select(School.timezone).distinct()))}
        due: list[Planned] = []
        for zone in sorted(zones):
            window = due_window(reminders, zone, now)
            if window is None:
                continue
            due += await self._weekly_in(session, zone, window, limit - len(due))
            if len(due) >= limit:
                break
        return due[:limit]

    async def _weekly_in(
        self, session: AsyncSession, zone: str, window: DueWindow, limit: int
    ) -> list[Planned]:
        reminders = self.settings.reminders
        default_slot = (
            WEEKDAYS.index(reminders.default_weekday) * 1440
            + reminders.default_time.hour * 60
            + reminders.default_time.minute
        )
        slot = case(
            (_has_slot(Student), _minute_of_week(Student)),
            (_has_slot(SchoolClass), _minute_of_week(SchoolClass)),
            else_=default_slot,
        )
        query = (
            select(
                Student.id,
                Student.language,
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
                Student.reminder_opt_in.is_(True),
                Student.status == "active",
                Student.onboarded.is_(True),
                func.coalesce(School.timezone, self.settings.schools.default_timezone) == zone,
                slot.between(window.first, window.last),
                ~exists().where(
                    ReminderDelivery.student_id == Student.id,
                    ReminderDelivery.slot == window.key,
                ),
            )
            .order_by(Student.id)
        )
        last = await session.scalar(select(func.max(Student.id))) or 0
        due: list[Planned] = []
        after = 0
        while after < last and len(due) < limit:
            rows = (
                await session.execute(
                    query.where(Student.id > after, Student.id <= after + PLAN_PAGE).limit(
                        limit - len(due)
                    )
                )
            ).all()
            due += [
                Planned(sid, chat or external, lang, "weekly", window.key)
                for sid, lang, chat, external in rows
            ]
            after += PLAN_PAGE
            await asyncio.sleep(0)  # let waiting messages in
        return due

    async def _plan_nudges(
        self, session: AsyncSession, now: datetime, *, limit: int = BATCH
    ) -> list[Planned]:
        """Weekly reminders sent a day ago and not answered since, without a nudge yet.

        Read in pages of the reminder index, so the days of the window when everybody has
        been nudged cost pages of index reads, not one long statement.
        """
        after = self.settings.reminders.follow_up_after
        weekly = (
            ReminderDelivery.kind == "weekly",
            ReminderDelivery.status == "sent",
            ReminderDelivery.sent_at <= now - after,
            ReminderDelivery.sent_at > now - after - NUDGE_WINDOW,
        )
        nudge_slot = literal("nudge:") + func.substr(ReminderDelivery.slot, len("weekly:") + 1)
        nudged = aliased(ReminderDelivery)
        query = (
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
                *weekly,
                Student.status == "active",
                Student.reminder_opt_in.is_(True),
                ~exists().where(
                    CheckinResult.student_id == ReminderDelivery.student_id,
                    CheckinResult.created_at >= ReminderDelivery.sent_at,
                ),
                ~exists().where(
                    nudged.student_id == ReminderDelivery.student_id,
                    nudged.slot == nudge_slot,
                ),
            )
            .order_by(ReminderDelivery.sent_at, ReminderDelivery.id)
        )
        planned: list[Planned] = []
        position: tuple[Any, Any] | None = None
        while len(planned) < limit:
            # The next page of candidates, by the index alone; then the due ones among them.
            keys = select(ReminderDelivery.sent_at, ReminderDelivery.id).where(*weekly)
            if position is not None:
                keys = keys.where(tuple_(ReminderDelivery.sent_at, ReminderDelivery.id) > position)
            page = (
                await session.execute(
                    keys.order_by(ReminderDelivery.sent_at, ReminderDelivery.id).limit(PLAN_PAGE)
                )
            ).all()
            if not page:
                break
            first, last = tuple(page[0]), tuple(page[-1])
            rows = (
                await session.execute(
                    query.where(
                        tuple_(ReminderDelivery.sent_at, ReminderDelivery.id) >= first,
                        tuple_(ReminderDelivery.sent_at, ReminderDelivery.id) <= last,
                    ).limit(limit - len(planned))
                )
            ).all()
            planned += [
                Planned(sid, chat or ext, lang, "nudge", "nudge:" + slot.removeprefix("weekly:"))
                for sid, slot, lang, chat, ext in rows
            ]
            if len(page) < PLAN_PAGE:
                break
            position = (last[0], last[1])
            await asyncio.sleep(0)
        return planned

    async def _plan_caring(
        self, session: AsyncSession, now: datetime, *, limit: int = BATCH
    ) -> list[Planned]:
        """Caring contacts due now (day 1, 3, 7 … after a case closed) and not yet claimed."""
        days = self.settings.reminders.caring_contact_days
        if not days:
            return []
        queries = []
        for day in days:
            slot = (literal("caring:") + cast(Case.id, String) + literal(f":d{day}")).label("slot")
            queries.append(
                select(
                    Student.id,
                    Student.language,
                    ChannelIdentity.chat_id,
                    ChannelIdentity.external_id,
                    slot,
                )
                .select_from(Case)
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
                    Case.closed_at <= now - timedelta(days=day),
                    Case.closed_at > now - timedelta(days=day) - CARING_WINDOW,
                    Student.status == "active",
                    ~exists().where(
                        ReminderDelivery.student_id == Case.student_id,
                        ReminderDelivery.slot == slot,
                    ),
                )
            )
        rows = (await session.execute(union_all(*queries).limit(limit))).all()
        return [
            Planned(sid, chat or ext, lang, "caring", slot) for sid, lang, chat, ext, slot in rows
        ]

    async def _missed_checkins(self, now: datetime) -> int:
        """A routine case request when a student with a recent case misses N check-ins.

        One query finds them: for each student with a case opened in the recent window, the
        newest and the N-th newest weekly reminder sent (through the per-student index),
        and no check-in since the N-th, and no alert raised for the newest yet.
        """
        needed = self.settings.reminders.missed_checkins_alert
        since = now - self.settings.reminders.recent_case_window
        recent = select(Case.student_id).where(Case.created_at >= since).distinct().subquery()

        def newest(column: Any, skip: int = 0) -> Any:
            return (
                select(column)
                .where(
                    ReminderDelivery.student_id == recent.c.student_id,
                    ReminderDelivery.kind == "weekly",
                    ReminderDelivery.status == "sent",
                    ReminderDelivery.sent_at.is_not(None),
                )
                .order_by(ReminderDelivery.sent_at.desc())
                .limit(1)
                .offset(skip)
                .scalar_subquery()
            )

        latest = select(
            recent.c.student_id,
            newest(ReminderDelivery.slot).label("slot"),
            newest(ReminderDelivery.sent_at).label("latest_at"),
            newest(ReminderDelivery.sent_at, needed - 1).label("earliest_at"),
        ).subquery()
        alert_slot = literal("missed:") + func.substr(latest.c.slot, len("weekly:") + 1)
        async with self.readers() as session:
            due = (
                await session.execute(
                    select(latest.c.student_id, latest.c.slot)
                    .where(
                        latest.c.earliest_at.is_not(None),
                        latest.c.latest_at <= now - self.settings.reminders.follow_up_after,
                        ~exists().where(
                            CheckinResult.student_id == latest.c.student_id,
                            CheckinResult.created_at >= latest.c.earliest_at,
                        ),
                        ~exists().where(
                            ReminderDelivery.student_id == latest.c.student_id,
                            ReminderDelivery.slot == alert_slot,
                        ),
                    )
                    .order_by(latest.c.student_id)
                )
            ).all()
        if not due:
            return 0
        created = 0
        # A transaction per chunk: a district's Monday can hold hundreds of these, and on
        # SQLite one transaction for all of them held the loop for hundreds of milliseconds.
        # The claim keeps a chunk that another process already did from alerting twice.
        for start in range(0, len(due), CHUNK):
            async with self.sessions() as session, session.begin():
                for sid, latest_slot in due[start : start + CHUNK]:
                    slot = "missed:" + latest_slot.removeprefix("weekly:")
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
            await asyncio.sleep(0)
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
        by_key = {(p.student_id, p.slot): p for p in planned}
        table: Table = ReminderDelivery.__table__  # type: ignore[assignment]
        for start in range(0, len(planned), CHUNK):
            # One short write transaction per chunk: another process waits for one chunk,
            # never for the whole round. Core executemany: the statement is compiled once,
            # where a VALUES list of hundreds of rows was compiled afresh every time.
            async with self.sessions() as session, session.begin():
                insert = _insert_for(session)(table).on_conflict_do_nothing(
                    index_elements=["student_id", "slot"]
                )
                result = await session.execute(
                    insert.returning(table.c.id, table.c.student_id, table.c.slot),
                    [
                        {
                            "student_id": p.student_id,
                            "kind": p.kind,
                            "slot": p.slot,
                            "status": "claimed",
                            "claimed_at": now,
                            "sent_at": None,
                            "error": None,
                        }
                        for p in planned[start : start + CHUNK]
                    ],
                )
                mine += [(rid, by_key[(sid, slot)]) for rid, sid, slot in result.all()]
            await asyncio.sleep(0)  # let waiting messages in between chunks
        return mine

    async def _send(
        self, claimed: list[tuple[int, Planned]], now: datetime, report: ReminderReport
    ) -> None:
        if not claimed:
            return
        await self._set_status([rid for rid, _ in claimed], status="sending")
        results: list[DeliveryResult] = [DeliveryResult(Delivery.FAILED, error="not sent")] * len(
            claimed
        )
        queue = iter(range(len(claimed)))

        async def sender() -> None:
            # A few senders share the work: a round of a thousand sends is a thousand
            # waits on the limiter, not a thousand tasks created in one go.
            for index in queue:
                results[index] = await self._deliver(claimed[index][1], report)
                # A port that answers at once never suspends; waiting messages go first.
                await asyncio.sleep(0)

        await asyncio.gather(*(sender() for _ in range(min(SENDERS, len(claimed)))))
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

    async def _set_status(self, ids: list[int], **values: Any) -> None:
        table: Table = ReminderDelivery.__table__  # type: ignore[assignment]
        for start in range(0, len(ids), CHUNK):
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(table).where(table.c.id.in_(ids[start : start + CHUNK])).values(**values)
                )
            await asyncio.sleep(0)

    async def _record(
        self,
        done: Iterable[tuple[tuple[int, Planned], DeliveryResult]],
        now: datetime,
        report: ReminderReport,
    ) -> None:
        """What became of each send, set-based: one UPDATE per outcome and chunk."""
        sent: list[int] = []
        failed: dict[str, list[int]] = {}
        blocked: list[tuple[int, Planned]] = []
        for (rid, planned), result in done:
            report.texts[planned.kind] = report.texts.get(planned.kind, 0) + 1
            if result.status is Delivery.DELIVERED:
                sent.append(rid)
            elif result.status is Delivery.BLOCKED:
                blocked.append((rid, planned))
            else:
                failed.setdefault(result.error[:200], []).append(rid)
        await self._set_status(sent, status="sent", sent_at=now)
        report.sent += len(sent)
        for error, ids in failed.items():
            await self._set_status(ids, status="failed", error=error)
            report.failed += len(ids)
        if blocked:
            await self._set_status(
                [rid for rid, _ in blocked], status="unreachable", error="blocked by the student"
            )
            async with self.sessions() as session, session.begin():
                for _, planned in blocked:
                    await self._unreachable(session, planned.student_id, now)
            report.unreachable += len(blocked)

    async def _unreachable(self, session: AsyncSession, student_id: int, now: datetime) -> None:
        if await mark_unreachable(session, student_id, now, why="reminder refused"):
            log.warning("student %s blocked the bot; marked unreachable", student_id)


_TEXT = {"weekly": "weekly", "nudge": "nudge", "caring": "caring"}
# Rows per claim INSERT or UPDATE … IN (…): a few milliseconds of the loop each, and well
# under both databases' limits on bound parameters. At a district's scale (930,000 reminder
# rows, four indexes) 200 rows held SQLite's loop for up to 160 ms.
CHUNK = 50


def _has_slot(table: Any) -> Any:
    """SQL: the row (a student or a class) sets its own valid reminder slot."""
    return and_(table.reminder_weekday.between(0, 6), table.reminder_minute.is_not(None))


def _minute_of_week(table: Any) -> Any:
    """SQL: the row's slot as a minute of the week, its minute clamped as slot_for does."""
    minute = case(
        (table.reminder_minute < 0, 0),
        (table.reminder_minute > 1439, 1439),
        else_=table.reminder_minute,
    )
    return table.reminder_weekday * 1440 + minute


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING on both databases."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
