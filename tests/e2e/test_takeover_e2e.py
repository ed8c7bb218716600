"""The real bot process against the emulator: a counselor takes over a student's chat.

A student in crisis; the counselor presses "Take over / 接手" on the alert; the student is told
who joined; the student's words reach the counselor's private chat naming the case while the
bot stays silent; the counselor's /reply reaches the student; /handback tells the student the
bot is back, and the bot answers again. The case timeline holds every step.
"""

from __future__ import annotations

import asyncio
import re
import signal

import httpx
import pytest
from e2e_world import BotRun, Person
from sqlalchemy import select
from test_telegram_e2e import COUNSELOR, STUDENT, seed

from storage.db import create_engine, session_factory
from storage.models import Case, CaseEvent

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def timeline(run: BotRun) -> tuple[Case, list[str]]:
    engine = create_engine(run.database)
    try:
        async with session_factory(engine)() as session:
            case = await session.scalar(select(Case))
            assert case is not None
            actions = (
                await session.scalars(
                    select(CaseEvent.action)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(CaseEvent.id)
                )
            ).all()
            return case, list(actions)
    finally:
        await engine.dispose()


async def test_take_over_talk_and_hand_back(
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

    await student.command("/start")
    for key in (":zh", ":agree"):
        shown, data = await student.expect_button(key)
        await student.press(shown, data)
    await student.expect_text("登记码")
    await student.say(code)
    shown, data = await student.expect_button(":reminder_none")
    await student.press(shown, data)

    await student.say("我想自杀")
    alert, take = await counselor.expect_button(":take")
    case, _ = await timeline(bot_run)
    assert take == f"c:{case.id}:take"
    await counselor.press(alert, take)
    await student.expect_text("周老师来了")
    await counselor.expect_text("你已接手案例")

    await student.say("老师我好害怕")
    relayed = await counselor.expect_text("老师我好害怕")
    assert relayed["message"]["text"].startswith(f"💬 案例 Case #{case.id}")
    await counselor.command(f"/reply {case.id} 我在，你现在安全吗？")
    await student.expect_text("周老师：我在，你现在安全吗？")
    await counselor.expect_text("已发给学生")

    await counselor.command(f"/handback {case.id} 已约好明早面谈")
    await student.expect_text("心卫机器人")
    await counselor.expect_text("交还给机器人")
    for item in student.seen:
        item["_used"] = True  # only an answer to what comes next counts
    await student.say("好的")
    await student.expect(lambda m: bool(m["message"].get("text")))  # the bot answers again

    for _ in range(50):
        case, actions = await timeline(bot_run)
        if "handed_back" in actions:
            break
        await asyncio.sleep(0.1)
    for action in ("taken", "ack", "student_message", "counselor_message", "handed_back"):
        assert action in actions, action
    assert "老师我好害怕" not in bot_run.log.read_text(encoding="utf-8")
    assert bot_run.stop(signal.SIGTERM) == 0
