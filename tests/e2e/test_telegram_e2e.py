"""The real bot process against the telegram-test-api emulator: a student and a counselor.

One story, in order: a counselor links their chat; a student enrolls with a code and starts a
check-in; the bot is stopped with SIGTERM and started again mid-question and carries on from
the same button; a crisis message mid-check-in shows the crisis lines and pages the counselor,
whose Acknowledge stops the escalation (checked in the database).
"""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_world import BotRun, Person
from sqlalchemy import select

from bot.services import admin, enrollment, roster_import
from escalation.duty import round_the_clock
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Case, Notification

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STUDENT, COUNSELOR = 1001, 2001
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\nE2E01,初二(1)班,8,S001,测试甲,yes\n"
).encode()


async def seed(run: BotRun) -> str:
    """Migrate the bot's database and enroll a school; returns the student's code."""
    engine = create_engine(run.database)
    cipher = DataCipher([run.env["HEARTGUARD_DATA_KEY"]])
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
            await roster_import.import_roster(session, ROSTER, now=now, actor="e2e")
            counselor = await admin.add_counselor(
                session,
                name="周老师",
                role="school_counselor",
                school_refs=["E2E01"],
                contacts=[],
                now=now,
                actor="e2e",
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
            issued = await enrollment.issue_codes(
                session,
                cipher,
                school_ref="E2E01",
                class_name=None,
                student_number="S001",
                ttl=timedelta(days=1),
                now=now,
                actor="e2e",
            )
    finally:
        await engine.dispose()
    return issued[0].code


async def the_case(run: BotRun) -> tuple[Case, list[Notification]]:
    engine = create_engine(run.database)
    try:
        async with session_factory(engine)() as session:
            case = await session.scalar(select(Case))
            assert case is not None
            sent = (
                await session.scalars(select(Notification).where(Notification.case_id == case.id))
            ).all()
            return case, list(sent)
    finally:
        await engine.dispose()


async def test_enroll_checkin_restart_crisis_and_acknowledge(
    bot_run: BotRun, telegram_client: httpx.AsyncClient
) -> None:
    code = await seed(bot_run)
    link = re.search(r"/link (\S+)", bot_run.heartguard("counselors", "code", "1"))
    assert link is not None
    bot_run.start()
    counselor = Person(telegram_client, COUNSELOR)
    student = Person(telegram_client, STUDENT)

    await counselor.command(f"/link {link.group(1)}")
    await counselor.expect_text("已绑定：周老师")
    assert len(bot_run.api_calls("setMyCommands")) == 2  # zh default + en

    await student.command("/start")
    shown, data = await student.expect_button(":zh")
    await student.press(shown, data)
    shown, data = await student.expect_button(":agree")
    await student.press(shown, data)
    await student.expect_text("登记码")
    await student.say(code)
    await student.expect_text("已经和你的学校连上了")
    shown, data = await student.expect_button(":reminder_none")
    await student.press(shown, data)

    await student.command("/checkin")
    shown, data = await student.expect_button(":mood_3")
    await student.press(shown, data)
    shown, data = await student.expect_button(":skip")
    await student.press(shown, data)
    first_item, answer = await student.expect_button(":not_at_all")

    # SIGTERM mid-question: a clean exit, then a new process carries on from the same button.
    assert bot_run.stop(signal.SIGTERM) == 0
    assert "telegram bot stopped" in bot_run.log.read_text(encoding="utf-8")
    bot_run.start()
    await student.press(first_item, answer)
    second_item, _ = await student.expect_button(":not_at_all")
    assert second_item["message"]["text"] != first_item["message"]["text"]

    await student.say("我已经把一整瓶安眠药都吃了")
    lines = await student.expect_text("12356")
    assert "120" in lines["message"]["text"]

    alert, ack = await counselor.expect_button(":ack")
    assert "紧急" in alert["message"]["text"]
    assert "一整瓶" not in alert["message"]["text"]  # no student words unless configured
    case, _ = await the_case(bot_run)
    assert (case.priority, case.status) == ("emergency", "open")
    assert ack == f"c:{case.id}:ack"
    await counselor.press(alert, ack)
    for _ in range(100):
        case, notifications = await the_case(bot_run)
        if case.status != "open":
            break
        await asyncio.sleep(0.1)
    assert (case.status, case.next_step_at) == ("acknowledged", None)
    # The alert is edited by the tick the acknowledgement kicks: on a busy machine, a moment.
    for _ in range(100):
        edits = bot_run.api_calls("editMessageText")
        if any("已确认" in e["text"] for e in edits):
            break
        await asyncio.sleep(0.1)
    assert any("已确认" in e["text"] for e in edits)

    await asyncio.sleep(2.5)  # two more ticks: nobody is paged again
    _, after = await the_case(bot_run)
    assert len(after) == len(notifications)
    assert not [n for n in after if n.status in ("pending", "sending")]
    assert bot_run.stop(signal.SIGINT) == 0
