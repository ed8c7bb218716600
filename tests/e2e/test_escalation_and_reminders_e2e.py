"""The real bot process against the emulator: escalation to tier 2, and reminders on time.

Escalation: with a 2-second acknowledgement timeout for urgent cases, nobody acknowledges
the school counselor's alert, so the district crisis team (linked through the emulator)
gets the tier-2 alert.

Reminders: the time is injected through the schedule, not the clock. Each student's own
reminder slot (or their class's) is set relative to the real "now" in their school's time
zone, and the quiet hours are moved away from now; the bot runs on its real clock, whose
first reminder pass runs at start. Due, not yet due, opted out, another time zone and a
class slot tell the right students from the wrong ones.
"""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from e2e_world import BotRun, Person
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import admin
from escalation.duty import round_the_clock
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import (
    Case,
    CaseEvent,
    ChannelIdentity,
    Notification,
    ReminderDelivery,
    School,
    SchoolClass,
    Student,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SCHOOL_COUNSELOR, CRISIS_TEAM, STUDENT = 2101, 2102, 1201
URGENT_IN_2S = """
[escalation.policies.urgent]
steps = [
    { tiers = ["school"], ack_timeout = "2s" },
    { tiers = ["district"], ack_timeout = "2s" },
]
repeat = 0
"""
WEEKLY = "又到每周的心情小调查"


async def enroll(session: AsyncSession, school_id: int, uid: int, **student: object) -> int:
    """An onboarded student with a Telegram chat, as after onboarding with a code."""
    now = datetime.now(UTC)
    row = Student(
        school_id=school_id,
        display_name=f"e2e{uid}",
        grade=8,
        status="active",
        onboarded=True,
        guardian_consent=True,
        consent_at=now,
        created_at=now,
        **student,
    )
    session.add(row)
    await session.flush()
    session.add(
        ChannelIdentity(
            student_id=row.id,
            channel="telegram",
            external_id=str(uid),
            chat_id=str(uid),
            created_at=now,
        )
    )
    return row.id


async def db_rows(run: BotRun, query: Select[Any]) -> list[Any]:
    engine = create_engine(run.database)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(query)).all())
    finally:
        await engine.dispose()


async def seed_escalation(run: BotRun) -> None:
    engine = create_engine(run.database)
    now = datetime.now(UTC)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            school = await admin.add_school(
                session,
                code="E2E01",
                name="端到端中学",
                timezone="Asia/Shanghai",
                now=now,
                actor="e2e",
            )
            counselor = await admin.add_counselor(
                session,
                name="周老师",
                role="school_counselor",
                school_refs=["E2E01"],
                contacts=[],
                now=now,
                actor="e2e",
            )
            await admin.add_counselor(
                session,
                name="区危机组吴老师",
                role="district_crisis",
                school_refs=[],
                contacts=[],
                now=now,
                actor="e2e",
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
            await enroll(session, school.id, STUDENT)
    finally:
        await engine.dispose()


def link_code(run: BotRun, counselor_id: int) -> str:
    found = re.search(r"/link (\S+)", run.heartguard("counselors", "code", str(counselor_id)))
    assert found is not None
    return found.group(1)


async def test_an_unacknowledged_urgent_case_reaches_the_district_team(
    bot_run: BotRun, telegram_client: httpx.AsyncClient
) -> None:
    bot_run.configure(URGENT_IN_2S)
    await seed_escalation(bot_run)
    codes = link_code(bot_run, 1), link_code(bot_run, 2)
    bot_run.start()
    school = Person(telegram_client, SCHOOL_COUNSELOR)
    team = Person(telegram_client, CRISIS_TEAM)
    for person, code, name in ((school, codes[0], "周老师"), (team, codes[1], "区危机组吴老师")):
        await person.command(f"/link {code}")
        await person.expect_text(f"已绑定：{name}")

    student = Person(telegram_client, STUDENT)
    await student.say("我想自杀")
    await student.expect_text("12356")
    tier1, _ = await school.expect_button(":ack")
    assert "急迫" in tier1["message"]["text"]
    tier2, ack = await team.expect_button(":ack", limit=30)
    assert "急迫" in tier2["message"]["text"]

    [(case,)] = await db_rows(bot_run, select(Case))
    assert isinstance(case, Case)
    assert (case.priority, case.status, ack) == ("urgent", "open", f"c:{case.id}:ack")
    alerts = await db_rows(
        bot_run,
        select(Notification.tier, Notification.address, Notification.status)
        .where(Notification.case_id == case.id, Notification.kind == "alert")
        .order_by(Notification.id),
    )
    assert [tuple(a) for a in alerts[:2]] == [
        ("school", str(SCHOOL_COUNSELOR), "sent"),
        ("district", str(CRISIS_TEAM), "sent"),
    ]
    # The team member acknowledges from the tier-2 alert: escalation stops there.
    await team.press(tier2, ack)
    for _ in range(100):
        [(case,)] = await db_rows(bot_run, select(Case))
        assert isinstance(case, Case)
        if case.status == "acknowledged":
            break
        await asyncio.sleep(0.1)
    actions = [a for (a,) in await db_rows(bot_run, select(CaseEvent.action))]
    assert case.status == "acknowledged"
    assert "ack" in actions
    assert bot_run.stop(signal.SIGTERM) == 0


def slot(local: datetime, back: timedelta) -> tuple[int, int]:
    """(weekday, minute) of ``local - back``, never before this week's Monday 00:00."""
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0)
    at = max(local - back, monday)
    return at.weekday(), at.hour * 60 + at.minute


async def seed_reminders(run: BotRun, now: datetime) -> dict[str, int]:
    """Students whose slots, set around ``now``, make some of them due and others not."""
    shanghai = now.astimezone(ZoneInfo("Asia/Shanghai"))
    los_angeles = now.astimezone(ZoneInfo("America/Los_Angeles"))
    due_here = slot(shanghai, timedelta(minutes=5))
    engine = create_engine(run.database)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            here = School(code="E2E01", name="上海", timezone="Asia/Shanghai", created_at=now)
            there = School(
                code="E2E02", name="洛杉矶", timezone="America/Los_Angeles", created_at=now
            )
            session.add_all([here, there])
            await session.flush()
            klass = SchoolClass(
                school_id=here.id,
                name="初二(1)班",
                grade=8,
                reminder_weekday=due_here[0],
                reminder_minute=due_here[1],
                created_at=now,
            )
            session.add(klass)
            await session.flush()
            later = slot(shanghai, timedelta(hours=-3))

            def own(at: tuple[int, int], opt_in: bool = True) -> dict[str, object]:
                return {
                    "reminder_opt_in": opt_in,
                    "reminder_weekday": at[0],
                    "reminder_minute": at[1],
                }

            return {
                "due": await enroll(session, here.id, 1301, **own(due_here)),
                "later": await enroll(session, here.id, 1302, **own(later)),
                "opted_out": await enroll(session, here.id, 1303, **own(due_here, False)),
                # Shanghai's "now" is another hour of the day in Los Angeles: not due there.
                "other_zone": await enroll(session, there.id, 1304, **own(due_here)),
                "due_there": await enroll(
                    session, there.id, 1305, **own(slot(los_angeles, timedelta(minutes=5)))
                ),
                "class_slot": await enroll(
                    session, here.id, 1306, class_id=klass.id, reminder_opt_in=True
                ),
            }
    finally:
        await engine.dispose()


def quiet_hours_away_from(now: datetime) -> str:
    """Quiet hours that hold in neither school's local time right now."""
    start = now.astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(hours=5)
    end = start + timedelta(hours=1)
    return f'[reminders]\nquiet_start = "{start:%H:%M}"\nquiet_end = "{end:%H:%M}"\n'


async def test_weekly_reminders_reach_the_right_students_at_their_time_once(
    bot_run: BotRun, telegram_client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    bot_run.configure(quiet_hours_away_from(now))
    ids = await seed_reminders(bot_run, now)
    bot_run.start()  # the first reminder pass runs at start
    due = {1301: "due", 1305: "due_there", 1306: "class_slot"}
    for uid in due:
        got = await Person(telegram_client, uid).expect_text(WEEKLY, limit=30)
        assert "/checkin" in got["message"]["text"]
    await asyncio.sleep(1.5)  # anything wrongly sent would have been sent with them
    reminded = sorted(int(c["chat_id"]) for c in bot_run.api_calls("sendMessage"))
    assert reminded == sorted(due)

    rows = await db_rows(
        bot_run, select(ReminderDelivery.student_id, ReminderDelivery.kind, ReminderDelivery.status)
    )
    assert sorted(tuple(r) for r in rows) == sorted(
        (ids[name], "weekly", "sent") for name in due.values()
    )

    # A restart runs the first pass again: every reminder is already claimed, none repeats.
    assert bot_run.stop(signal.SIGTERM) == 0
    bot_run.start()
    await asyncio.sleep(3)
    assert sorted(int(c["chat_id"]) for c in bot_run.api_calls("sendMessage")) == sorted(due)
    assert bot_run.stop(signal.SIGTERM) == 0
