"""Pipeline speed: many simulated students through complete weekly check-ins (SQLite, one
process). Baseline in the same run: one bare insert-and-commit of a message row.

Run with `make bench` (or `.venv/bin/python bench/conversation.py [--students N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.config.settings import load_settings
from bot.services import admin
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Message, Student

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=10)
        return self.now


async def checkin(chat: Console, who: str, latencies: list[float]) -> int:
    """Onboard anonymously-free (language, consent, no code) then a full check-in."""
    script: list[tuple[str, str]] = [("command", "checkin")]
    sent = 0
    outcome = None
    for kind, value in script:
        t0 = time.perf_counter()
        outcome = await chat.send(who, kind, value)  # type: ignore[arg-type]
        latencies.append(time.perf_counter() - t0)
        sent += 1
    answered = 0
    while outcome is not None and outcome.replies and outcome.replies[-1].buttons:
        if any(e.get("instrument") in ("gad2", "gad7") for e in outcome.events):
            break
        value = "3" if answered == 0 else ("我最近考试压力有点大" if answered == 1 else "1")
        kind = "text" if answered == 1 else "button"
        t0 = time.perf_counter()
        outcome = await chat.send(who, kind, value)  # type: ignore[arg-type]
        latencies.append(time.perf_counter() - t0)
        sent += 1
        answered += 1
        if answered > 40:
            break
    return sent


async def onboarded_students(app: AppContext, count: int) -> list[str]:
    """Students already through onboarding, as the weekly check-in finds them."""
    async with app.sessions.begin() as session:
        await admin.add_school(
            session, code="B", name="基准", timezone="Asia/Shanghai", now=START, actor="bench"
        )
    from storage.models import ChannelIdentity

    names = [f"s{n}" for n in range(count)]
    async with app.sessions.begin() as session:
        for name in names:
            student = Student(
                display_name=name,
                grade=8,
                status="active",
                onboarded=True,
                guardian_consent=True,
                school_id=1,
                consent_at=START,
                created_at=START,
            )
            session.add(student)
            await session.flush()
            session.add(
                ChannelIdentity(
                    student_id=student.id, channel="console", external_id=name, created_at=START
                )
            )
    return names


async def bare_inserts(app: AppContext, n: int) -> float:
    cipher = app.cipher
    t0 = time.perf_counter()
    for i in range(n):
        async with app.sessions.begin() as session:
            session.add(
                Message(
                    student_id=1,
                    direction="in",
                    kind="text",
                    channel="console",
                    text_enc=cipher.encrypt(f"消息{i}"),
                    created_at=START,
                )
            )
    return (time.perf_counter() - t0) / n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(engine)
        app = AppContext(
            load_settings(None, {}),
            engine,
            session_factory(engine),
            DataCipher([Fernet.generate_key()]),
        )
        chat = Console(build_runtime(app, clock=Clock(), plugs={"telegram": None}).students)
        names = await onboarded_students(app, args.students)
        await checkin(chat, "warmup", [])  # load jieba and the flows before timing
        latencies: list[float] = []
        t0 = time.perf_counter()
        messages = 0
        for name in names:
            messages += await checkin(chat, name, latencies)
        total = time.perf_counter() - t0
        bare = await bare_inserts(app, 300)
        await engine.dispose()
    ordered = sorted(latencies)
    per_message = total / messages
    print(f"students: {args.students}, messages: {messages}")
    print(
        f"pipeline: {messages / total:,.0f} messages/s, p50 {statistics.median(ordered) * 1e3:.2f}"
        f" ms, p99 {ordered[int(0.99 * (len(ordered) - 1))] * 1e3:.2f} ms (target p99 < 50 ms)"
    )
    print(f"bare insert-and-commit of one message row: {bare * 1e3:.2f} ms")
    print(f"ratio pipeline / bare insert-and-commit: {per_message / bare:.1f} (target <= 3)")


if __name__ == "__main__":
    asyncio.run(main())
