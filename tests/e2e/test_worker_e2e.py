"""``heartguard run`` and a separate ``heartguard worker`` on one database and the emulator.

Before the one composition root, a worker running beside the bot claimed Telegram alerts it had
no notifier for and marked them dead, recording the counselor as unreachable. Now every
process that has the token builds its own Telegram notifier, and a process claims only the
channels it can send. Both processes run here: a crisis written to the bot is paged once, and
a case request the bot's own scheduler would not look at for an hour is paged by the worker,
once. No notification dies.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_world import BIN, BotRun, Person
from sqlalchemy import select

from bot.services import admin
from escalation.duty import round_the_clock
from escalation.requests import request_case
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import ChannelIdentity, Notification, Student

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
COUNSELOR, STUDENT, QUIET_STUDENT = 2301, 1301, 1302


async def seed(run: BotRun) -> tuple[int, int]:
    """A school with a counselor on duty around the clock and two enrolled students."""
    engine = create_engine(run.database)
    now = datetime.now(UTC)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            school = await admin.add_school(
                session,
                code="W01",
                name="双进程中学",
                timezone="Asia/Shanghai",
                now=now,
                actor="e2e",
            )
            counselor = await admin.add_counselor(
                session,
                name="钱老师",
                role="school_counselor",
                school_refs=["W01"],
                contacts=[],
                now=now,
                actor="e2e",
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
            ids = []
            for uid in (STUDENT, QUIET_STUDENT):
                row = Student(
                    school_id=school.id,
                    display_name=f"w{uid}",
                    grade=8,
                    status="active",
                    onboarded=True,
                    guardian_consent=True,
                    consent_at=now,
                    created_at=now,
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
                ids.append(row.id)
    finally:
        await engine.dispose()
    return ids[0], ids[1]


async def notifications(run: BotRun) -> list[tuple[str, str, str]]:
    engine = create_engine(run.database)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(Notification.kind, Notification.address, Notification.status)
            )
            return [tuple(r) for r in rows.all()]  # type: ignore[misc]
    finally:
        await engine.dispose()


def alerts_sent(calls: Path, chat: int) -> list[dict[str, Any]]:
    """sendMessage calls with an Acknowledge button to ``chat``, as one process made them."""
    if not calls.exists():
        return []
    out = []
    for line in calls.read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        params = call["params"]
        markup = str(params.get("reply_markup", ""))
        to_chat = call["method"] == "sendMessage" and str(params.get("chat_id")) == str(chat)
        if to_chat and ":ack" in markup:
            out.append(params)
    return out


def start_worker(run: BotRun, config: Path, calls: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**run.env, "HG_E2E_CALLS": str(calls)}
    with log.open("w") as sink:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [str(BIN / "heartguard"), "--config", str(config), "worker"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "delivering alerts by" in log.read_text(encoding="utf-8"):
            return proc
        if proc.poll() is not None:
            raise AssertionError("the worker exited early:\n" + log.read_text(encoding="utf-8"))
        time.sleep(0.1)
    raise AssertionError("the worker did not come up")


async def test_a_bot_and_a_worker_page_every_alert_once_and_none_dies(
    bot_run: BotRun, telegram_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # The bot ticks at once after a commit that asked for a case, and otherwise hourly; the
    # worker every second. A request the bot did not make waits for the worker.
    worker_config = tmp_path / "worker.toml"
    worker_config.write_text(bot_run.config.read_text(encoding="utf-8"), encoding="utf-8")
    hourly = bot_run.config.read_text(encoding="utf-8").replace(
        'tick_interval = "1s"', 'tick_interval = "1h"\naudit_interval = "1h"'
    )
    bot_run.config.write_text(hourly, encoding="utf-8")
    _, quiet = await seed(bot_run)
    code = bot_run.heartguard("counselors", "code", "1").split("/link ", 1)[1].split()[0]
    worker_calls = tmp_path / "worker-calls.jsonl"
    bot_run.start()
    worker = start_worker(bot_run, worker_config, worker_calls, tmp_path / "worker.log")
    try:
        counselor = Person(telegram_client, COUNSELOR)
        await counselor.command(f"/link {code}")
        await counselor.expect_text("已绑定：钱老师")

        # A crisis through the bot.
        student = Person(telegram_client, STUDENT)
        await student.say("我今晚就要结束自己的生命")
        await student.expect_text("12356")
        await counselor.expect_button(":ack")

        # A request written by another process (as the reminders do for missed check-ins).
        engine = create_engine(bot_run.database)
        try:
            async with session_factory(engine).begin() as session:
                request_case(
                    session,
                    student_id=quiet,
                    priority="urgent",
                    reason="missed_checkins",
                    now=datetime.now(UTC),
                )
        finally:
            await engine.dispose()
        second, _ = await counselor.expect_button(":ack", limit=30)
        assert "急迫" in second["message"]["text"]

        await asyncio.sleep(3)  # several worker ticks: room for a duplicate to show up
        rows = await notifications(bot_run)
        alerts = [r for r in rows if r[0] == "alert"]
        assert len(alerts) == 2
        assert all(status == "sent" for _, _, status in alerts)
        assert not [r for r in rows if r[2] == "dead"]
        by_bot = alerts_sent(bot_run.calls, COUNSELOR)
        by_worker = alerts_sent(worker_calls, COUNSELOR)
        assert len(by_bot) + len(by_worker) == 2  # each alert reached the chat exactly once
        assert len(by_worker) >= 1  # the worker delivered a Telegram alert itself
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
        assert bot_run.stop(signal.SIGTERM) == 0
