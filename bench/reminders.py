"""Reminder speed.

1. Planning for 100,000 students (SQLite): seconds, and the ratio to a bare SELECT of the same
   rows measured in the same run.
2. The achieved send rate for 3,000 reminders against a fake transport that enforces
   30 messages/s and answers 429 with retry_after beyond it: the rate, the share of the
   allowed rate, and how many 429s came after the first.

`make bench` runs the planning measurement through bench/telegram_channel.py, which measures sending
through the whole Telegram stack instead; run this file on its own for the transport-level
send rate (`.venv/bin/python bench/reminders.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet  # noqa: F401  (keeps import cost comparable)
from sqlalchemy import insert, select

from bot.channels.port import Attachment, Delivery, DeliveryResult
from bot.config.settings import load_settings
from bot.services.reminders import ReminderRunner
from bot.services.render import Outbound, Renderer
from flows import load_catalog
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import ChannelIdentity, School, Student

FRI_1631 = datetime(2026, 11, 6, 8, 31, tzinfo=UTC)
START = datetime(2026, 11, 1, tzinfo=UTC)


class LimitedTransport:
    """A student port allowing 30 messages in any one-second window; beyond that, 429."""

    channel = "telegram"

    def __init__(self, limit: int = 30) -> None:
        self.limit = limit
        self.window: deque[float] = deque()
        self.sent = 0
        self.refused = 0
        self.first_refusal_at: int | None = None

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.refused += 1
            if self.first_refusal_at is None:
                self.first_refusal_at = self.sent
            return DeliveryResult(Delivery.RETRY, retry_after=1.0 - (now - self.window[0]))
        self.window.append(now)
        self.sent += 1
        return DeliveryResult(Delivery.DELIVERED)


async def seed(url: str, count: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        school = School(code="B", name="基准", timezone="Asia/Shanghai", created_at=START)
        session.add(school)
        await session.flush()
        for start in range(0, count, 5000):
            rows = [
                {
                    "school_id": school.id,
                    "display_name": f"s{n}",
                    "status": "active",
                    "created_at": START,
                    "language": "zh",
                    "guardian_consent": True,
                    "reminder_opt_in": True,
                    "onboarded": True,
                    "anonymous": False,
                }
                for n in range(start, min(count, start + 5000))
            ]
            await session.execute(insert(Student), rows)
        ids = (await session.scalars(select(Student.id))).all()
        for start in range(0, len(ids), 5000):
            await session.execute(
                insert(ChannelIdentity),
                [
                    {
                        "student_id": i,
                        "channel": "telegram",
                        "external_id": str(i),
                        "chat_id": str(i),
                        "created_at": START,
                    }
                    for i in ids[start : start + 5000]
                ],
            )
    await engine.dispose()


async def planning(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'plan.db'}"
        await seed(url, count)
        engine = create_engine(url)
        sessions = session_factory(engine)
        settings = load_settings(None, {})
        runner = ReminderRunner(
            sessions, settings, Renderer(load_catalog(), settings), LimitedTransport()
        )
        async with sessions() as session:
            async with Stalls() as bare_stall:
                t0 = time.perf_counter()
                bare = (
                    await session.execute(
                        select(
                            Student.id,
                            Student.language,
                            Student.reminder_weekday,
                            Student.reminder_minute,
                            ChannelIdentity.chat_id,
                        ).join(ChannelIdentity, ChannelIdentity.student_id == Student.id)
                    )
                ).all()
                bare_s = time.perf_counter() - t0
            async with Stalls() as plan_stall:
                t0 = time.perf_counter()
                planned = await runner.plan_weekly(session, FRI_1631)
                plan_s = time.perf_counter() - t0
        await engine.dispose()
    print(
        f"planning for {count:,} students: {plan_s:.2f} s ({len(planned):,} due); bare SELECT "
        f"of the same rows {bare_s:.2f} s ({len(bare):,} rows); ratio {plan_s / bare_s:.1f}"
    )
    print(
        f"  longest event-loop stall while planning {plan_stall.worst * 1e3:.0f} ms (the bot's"
        f" messages wait that long), against {bare_stall.worst * 1e3:.0f} ms for the bare SELECT"
    )


class Stalls:
    """The longest time the event loop went without running a 1 ms heartbeat."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.worst = max(self.worst, now - last)
            last = now

    async def __aenter__(self) -> Stalls:
        self._task = asyncio.get_running_loop().create_task(self._beat())
        await asyncio.sleep(0.002)  # the heartbeat is running before the work starts
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await asyncio.sleep(0.002)  # and it sees the end of the work
        assert self._task is not None
        self._task.cancel()


async def sending(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'send.db'}"
        await seed(url, count)
        engine = create_engine(url)
        sessions = session_factory(engine)
        settings = load_settings(None, {})
        transport = LimitedTransport()
        runner = ReminderRunner(sessions, settings, Renderer(load_catalog(), settings), transport)
        t0 = time.perf_counter()
        report = await runner.tick(FRI_1631)
        elapsed = time.perf_counter() - t0
        await engine.dispose()
    rate = report.sent / elapsed
    after_first = max(0, transport.refused - (1 if transport.refused else 0))
    print(
        f"sending {report.sent:,} reminders under a 30/s limit: {rate:.1f} messages/s "
        f"({rate / 30:.0%} of the allowed rate), {transport.refused} answered 429 "
        f"({after_first} after the first)"
    )


async def main(students: int, reminders: int) -> None:
    await planning(students)
    await sending(reminders)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.students, args.reminders))
