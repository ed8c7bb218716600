"""Reminders on real SQLite and PostgreSQL, with an injected clock and a recording transport."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.port import Attachment, Delivery, DeliveryResult
from bot.config.settings import Settings, load_settings, settings_from_mapping
from bot.services import admin
from bot.services.reminder_plan import Slot, due_weekly
from bot.services.reminders import ReminderRunner
from bot.services.render import Outbound, Renderer
from flows import load_catalog
from storage.models import (
    AuditEvent,
    Case,
    CaseRequest,
    ChannelIdentity,
    CheckinResult,
    ReminderDelivery,
    SchoolClass,
    Student,
)

# Friday 2026-11-06, Asia/Shanghai is UTC+8: the default slot Fri 16:30 is 08:30 UTC.
FRI_1630 = datetime(2026, 11, 6, 8, 30, tzinfo=UTC)
MIN = timedelta(minutes=1)


@dataclass
class Transport:
    """A student port that records texts per chat; can answer from a script."""

    script: list[DeliveryResult] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)
    channel: str = "telegram"

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        result = self.script.pop(0) if self.script else DeliveryResult(Delivery.DELIVERED)
        if result.ok:
            self.sent.extend((chat_id, reply.text) for reply in replies)
        return result


async def seed(sessions: async_sessionmaker[AsyncSession], *, count: int = 3) -> list[int]:
    """Students 0..count-1 opted in and onboarded, with Telegram identities t0, t1 …"""
    async with sessions.begin() as session:
        school = await admin.add_school(
            session, code="R1", name="提醒学校", timezone="Asia/Shanghai", now=FRI_1630, actor="t"
        )
        klass = SchoolClass(school_id=school.id, name="初一1班", grade=7, created_at=FRI_1630)
        session.add(klass)
        await session.flush()
        ids = []
        for n in range(count):
            student = Student(
                school_id=school.id,
                class_id=klass.id,
                display_name=f"学生{n}",
                status="active",
                onboarded=True,
                reminder_opt_in=True,
                language="zh" if n % 2 == 0 else "en",
                created_at=FRI_1630,
            )
            session.add(student)
            await session.flush()
            session.add(
                ChannelIdentity(
                    student_id=student.id,
                    channel="telegram",
                    external_id=f"t{n}",
                    chat_id=f"t{n}",
                    created_at=FRI_1630,
                )
            )
            ids.append(student.id)
    return ids


def runner(
    sessions: async_sessionmaker[AsyncSession],
    transport: Transport,
    settings: Settings | None = None,
) -> ReminderRunner:
    settings = settings or load_settings(None, {})
    return ReminderRunner(
        sessions, settings, Renderer(load_catalog(), settings), transport, rate=1000
    )


async def test_weekly_reminders_go_out_on_time_once_in_each_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    transport = Transport()
    reminders = runner(sessions, transport)
    assert (await reminders.tick(FRI_1630 - MIN)).sent == 0  # a minute early
    report = await reminders.tick(FRI_1630 + MIN)
    assert report.sent == 3
    assert sorted(chat for chat, _ in transport.sent) == ["t0", "t1", "t2"]
    texts = dict(transport.sent)
    assert "/checkin" in texts["t0"]
    assert "心情小调查" in texts["t0"]
    assert "check-in" in texts["t1"]
    assert (await reminders.tick(FRI_1630 + 2 * MIN)).sent == 0  # never twice


async def test_planning_reads_the_roster_in_pages_and_lets_other_work_run(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.reminders as reminders_module

    monkeypatch.setattr(reminders_module, "PLAN_PAGE", 4)
    ids = await seed(sessions, count=11)
    beats = 0

    async def other_work() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = beats
    async with sessions() as session:
        planned = await runner(sessions, Transport()).plan_weekly(session, FRI_1630 + MIN)
    during = beats - before
    task.cancel()
    # Every student once, across page edges; the loop ran other work between pages.
    assert sorted(p.student_id for p in planned) == sorted(ids)
    assert during >= 2


async def test_two_processes_racing_send_each_reminder_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions, count=20)
    first, second = Transport(), Transport()
    await asyncio.gather(
        runner(sessions, first).tick(FRI_1630 + MIN), runner(sessions, second).tick(FRI_1630 + MIN)
    )
    chats = [c for c, _ in first.sent + second.sent]
    assert len(chats) == 20
    assert len(set(chats)) == 20


async def test_opted_out_unlinked_and_unreachable_students_get_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=3)
    async with sessions.begin() as session:
        (await session.get(Student, ids[0])).reminder_opt_in = False  # type: ignore[union-attr]
        (await session.get(Student, ids[1])).status = "unreachable"  # type: ignore[union-attr]
    transport = Transport()
    await runner(sessions, transport).tick(FRI_1630 + MIN)
    assert [c for c, _ in transport.sent] == ["t2"]


async def test_a_blocked_bot_marks_the_student_unreachable(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=1)
    transport = Transport(script=[DeliveryResult(Delivery.BLOCKED, error="bot was blocked")])
    report = await runner(sessions, transport).tick(FRI_1630 + MIN)
    assert report.unreachable == 1
    async with sessions() as session:
        student = await session.get(Student, ids[0])
        assert student is not None
        assert student.status == "unreachable"
        event = await session.scalar(
            select(AuditEvent.action).where(AuditEvent.action == "student_unreachable")
        )
    assert event == "student_unreachable"


async def test_retry_after_is_honoured(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions, count=1)
    transport = Transport(script=[DeliveryResult(Delivery.RETRY, retry_after=0.01)])
    report = await runner(sessions, transport).tick(FRI_1630 + MIN)
    assert (report.retries, report.sent) == (1, 1)


async def test_follow_up_nudge_only_when_the_checkin_was_not_started(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=2)
    transport = Transport()
    reminders = runner(sessions, transport)
    await reminders.tick(FRI_1630 + MIN)
    async with sessions.begin() as session:
        session.add(
            CheckinResult(
                student_id=ids[0],
                instrument="mood",
                answers=[3],
                score=3,
                band="okay",
                created_at=FRI_1630 + 10 * MIN,
            )
        )
    transport.sent.clear()
    await reminders.tick(FRI_1630 + timedelta(hours=23))
    assert transport.sent == []  # not yet: the nudge waits a day
    # Saturday 16:31 in Shanghai: quiet hours are over, a day has passed.
    await reminders.tick(FRI_1630 + timedelta(hours=24, minutes=1))
    assert [c for c, _ in transport.sent] == ["t1"]
    assert "还没做" in transport.sent[0][1] or "still waiting" in transport.sent[0][1]


async def test_caring_contacts_follow_a_closed_case(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=1)
    closed = FRI_1630 - timedelta(days=10)
    async with sessions.begin() as session:
        session.add(
            Case(
                student_id=ids[0],
                school_id=None,
                priority="urgent",
                status="resolved",
                reason="risk_high",
                categories=[],
                chain={},
                closed_at=closed,
                created_at=closed - timedelta(days=1),
                updated_at=closed,
            )
        )
    transport = Transport()
    reminders = runner(sessions, transport)
    await reminders.tick(closed + timedelta(days=1, hours=1))
    await reminders.tick(closed + timedelta(days=1, hours=2))
    await reminders.tick(closed + timedelta(days=3, hours=1))
    caring = [t for _, t in transport.sent if "问候" in t or "checking in" in t]
    assert len(caring) == 2  # day 1 and day 3, once each


async def test_missed_checkins_after_a_case_alert_the_counselor_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=1)
    async with sessions.begin() as session:
        session.add(
            Case(
                student_id=ids[0],
                priority="urgent",
                status="resolved",
                reason="risk_high",
                categories=[],
                chain={},
                closed_at=FRI_1630 - timedelta(days=20),
                created_at=FRI_1630 - timedelta(days=21),
                updated_at=FRI_1630 - timedelta(days=20),
            )
        )
    reminders = runner(sessions, Transport())
    await reminders.tick(FRI_1630 + MIN)  # week 1 sent, never answered
    await reminders.tick(FRI_1630 + timedelta(days=7, minutes=1))  # week 2 sent
    report = await reminders.tick(FRI_1630 + timedelta(days=8, minutes=5))
    assert report.alerts == 1
    again = await reminders.tick(FRI_1630 + timedelta(days=8, minutes=10))
    assert again.alerts == 0
    async with sessions() as session:
        requests = (await session.scalars(select(CaseRequest))).all()
    assert [(r.priority, r.reason) for r in requests] == [("routine", "missed_checkins")]


async def test_a_restart_between_claim_and_send_neither_skips_nor_repeats(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions, count=2)
    async with sessions.begin() as session:
        # A previous process claimed both, sent one, and died before sending the other.
        session.add(
            ReminderDelivery(
                student_id=ids[0],
                kind="weekly",
                slot="weekly:2026-W45",
                status="sent",
                claimed_at=FRI_1630,
                sent_at=FRI_1630,
            )
        )
        session.add(
            ReminderDelivery(
                student_id=ids[1],
                kind="weekly",
                slot="weekly:2026-W45",
                status="claimed",
                claimed_at=FRI_1630,
            )
        )
    transport = Transport()
    await runner(sessions, transport).tick(FRI_1630 + 5 * MIN)
    assert [c for c, _ in transport.sent] == ["t1"]
    async with sessions() as session:
        statuses = (
            await session.scalars(
                select(ReminderDelivery.status).order_by(ReminderDelivery.student_id)
            )
        ).all()
        total = await session.scalar(select(func.count()).select_from(ReminderDelivery))
    assert list(statuses) == ["sent", "sent"]
    assert total == 2


@pytest.mark.parametrize(
    ("config", "when", "due"),
    [
        ({}, FRI_1630 + MIN, True),
        ({"holidays": [date(2026, 11, 6)]}, FRI_1630 + MIN, False),
        ({"terms": [{"start": date(2026, 9, 1), "end": date(2026, 11, 1)}]}, FRI_1630 + MIN, False),
        ({"terms": [{"start": date(2026, 9, 1), "end": date(2027, 1, 20)}]}, FRI_1630 + MIN, True),
        ({}, FRI_1630 + timedelta(hours=7), False),  # past the catch-up window
    ],
)
def test_term_dates_holidays_and_the_catch_up_window(
    config: dict[str, object], when: datetime, due: bool
) -> None:
    settings = settings_from_mapping({"reminders": config}, source="t", environ={})
    slot = Slot(4, 16 * 60 + 30, "Asia/Shanghai")
    assert (due_weekly(settings.reminders, slot, when) is not None) is due


def test_a_slot_in_quiet_hours_moves_to_the_morning() -> None:
    settings = load_settings(None, {}).reminders
    slot = Slot(4, 22 * 60, "Asia/Shanghai")  # Friday 22:00, inside 21:30–07:00
    friday_22 = datetime(2026, 11, 6, 14, 0, tzinfo=UTC)
    saturday_7 = datetime(2026, 11, 6, 23, 0, tzinfo=UTC)
    assert due_weekly(settings, slot, friday_22 + MIN) is None
    assert due_weekly(settings, slot, saturday_7 + MIN) == "weekly:2026-W45"
    assert settings.quiet_end == time(7, 0)
