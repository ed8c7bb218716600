"""No student text in `heartguard --debug run`: the real bot, the emulator, and its whole output.

A student whose Telegram profile and roster entry carry their name enrolls (after a first try
that was their name and phone number instead of the code), writes words after a command, and
writes a crisis. The pipeline, the detector and the green channel all run at debug level, the
counselor is paged, and then every line the bot wrote to stdout and stderr is searched for the
student's sentence, name and phone number.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_world import BotRun, Person, WebhookRelay, free_port

from bot.services import admin, enrollment, roster_import
from escalation.duty import round_the_clock
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STUDENT, COUNSELOR = 1401, 2401
SENTENCE = "紫藤花下的秘密暗号是蓝色长颈鹿"
NAME = "欧阳小星"
PHONE = "13912345678"
CRISIS = "跳楼"
SECRET = "e2e-debug-secret"


async def seed(run: BotRun) -> str:
    """A school, the student on its roster by name, a counselor on duty; the student's code."""
    engine = create_engine(run.database)
    now = datetime.now(UTC)
    roster = (
        f"school,class,grade,student_number,name,guardian_consent\nD01,初二(1)班,8,S1,{NAME},yes\n"
    )
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            school = await admin.add_school(
                session, code="D01", name="调试中学", timezone="Asia/Shanghai", now=now, actor="e2e"
            )
            await roster_import.import_roster(session, roster.encode(), now=now, actor="e2e")
            counselor = await admin.add_counselor(
                session,
                name="孙老师",
                role="school_counselor",
                school_refs=["D01"],
                contacts=[("telegram", str(COUNSELOR))],
                now=now,
                actor="e2e",
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
            issued = await enrollment.issue_codes(
                session,
                DataCipher([run.env["HEARTGUARD_DATA_KEY"]]),
                school_ref="D01",
                class_name=None,
                student_number="S1",
                ttl=timedelta(days=1),
                now=now,
                actor="e2e",
            )
    finally:
        await engine.dispose()
    return issued[0].code


def webhook_mode(run: BotRun, relay: WebhookRelay, port: int) -> None:
    """Configure the bot to take updates by webhook, through the relay."""
    run.env["HEARTGUARD_TELEGRAM_WEBHOOK_SECRET"] = SECRET
    webhook = (
        "[telegram]\n"
        'mode = "webhook"\n'
        'webhook_listen = "127.0.0.1"\n'
        f"webhook_port = {port}\n"
        'webhook_path = "/hooks/telegram"\n'
        f'webhook_public_url = "{relay.url}"\n'
    )
    config = run.config.read_text(encoding="utf-8")
    run.config.write_text(config.replace("[telegram]\n", webhook), encoding="utf-8")


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_debug_run_writes_no_student_text(
    bot_run: BotRun, telegram_client: httpx.AsyncClient, mode: str
) -> None:
    code = await seed(bot_run)
    port = free_port()
    with WebhookRelay(f"http://127.0.0.1:{port}/hooks/telegram", SECRET) as relay:
        if mode == "webhook":
            webhook_mode(bot_run, relay, port)
        bot_run.options = ("--debug",)
        bot_run.start()
        await conversation(bot_run, code, telegram_client)
        assert bot_run.stop(signal.SIGTERM) == 0

    output = bot_run.log.read_text(encoding="utf-8")
    assert f"running ({mode})" in output
    assert " DEBUG " in output  # debug logging really was on
    leaks = [
        line
        for line in output.splitlines()
        if any(secret in line for secret in (SENTENCE, NAME, PHONE, CRISIS))
    ]
    assert leaks == []


async def conversation(run: BotRun, code: str, client: httpx.AsyncClient) -> None:
    """Onboarding with a wrong first try, words after a command, a crisis, the counselor."""
    student = Person(client, STUDENT, first_name=NAME)
    counselor = Person(client, COUNSELOR)
    await student.command("/start")
    shown, data = await student.expect_button(":zh")
    await student.press(shown, data)
    shown, data = await student.expect_button(":agree")
    await student.press(shown, data)
    await student.expect_text("登记码")
    await student.say(f"我叫{NAME}，电话{PHONE}，{SENTENCE}")  # not a code: asked again
    await student.say(code)
    await student.expect_text("已经和你的学校连上了")
    shown, data = await student.expect_button(":reminder_none")
    await student.press(shown, data)
    await student.command(f"/talk {SENTENCE}，我叫{NAME}")
    await student.say(f"{SENTENCE}，我今晚就去{CRISIS}，药已经准备好了，打{PHONE}也没用")
    await student.expect_text("12356")
    alert, ack = await counselor.expect_button(":ack")  # the green channel paged the counselor
    await counselor.press(alert, ack)
    for _ in range(100):  # the alert is edited to show who acknowledged it
        if any("已确认" in edit["text"] for edit in run.api_calls("editMessageText")):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the acknowledgement never showed on the alert")
