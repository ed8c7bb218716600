"""Green-channel speed.

1. Commit of an imminent case request to the first notification handed to the notifier,
   p50/p99, with 200 cases opened at once (SQLite, one worker, the real tick).
2. Dispatcher throughput in notifications/s with a fake notifier that sleeps 50 ms per send:
   SQLite with 1 worker; PostgreSQL with 1 and 4 worker processes, and the 4/1 ratio.

Run with `make bench` (or `.venv/bin/python bench/escalation.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pgtemp import drop, pg_database
from sqlalchemy import func, insert, select

from bot.bootstrap import policies
from bot.config.settings import load_settings
from escalation.duty import round_the_clock
from escalation.engine import EscalationEngine
from escalation.notifiers.base import Alert, SendResult
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import (
    Case,
    CaseRequest,
    Counselor,
    CounselorContact,
    Notification,
    School,
    Student,
)

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


class SleepyNotifier:
    """Pretends to be a slow channel: 50 ms per send; records when each case first arrived."""

    channel = "telegram"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.first: dict[int, float] = {}
        self.count = 0

    async def send(self, alert: Alert) -> SendResult:
        self.first.setdefault(alert.case_id, time.perf_counter())
        await asyncio.sleep(self.delay)
        self.count += 1
        return SendResult.delivered()


async def seed(url: str, students: int) -> list[int]:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        school = School(code="B", name="基准", timezone="Asia/Shanghai", created_at=NOW)
        session.add(school)
        await session.flush()
        counselor = Counselor(name="值班", role="school_counselor", scope="school", created_at=NOW)
        session.add(counselor)
        await session.flush()
        session.add(
            CounselorContact(counselor_id=counselor.id, channel="telegram", address="1", rank=0)
        )
        round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=NOW)
        rows = [
            {
                "school_id": school.id,
                "display_name": f"s{n}",
                "status": "active",
                "created_at": NOW,
                "language": "zh",
                "guardian_consent": True,
                "reminder_opt_in": False,
                "onboarded": True,
                "anonymous": False,
            }
            for n in range(students)
        ]
        await session.execute(insert(Student), rows)
        ids = list((await session.scalars(select(Student.id))).all())
    await engine.dispose()
    return ids


async def latency(url: str) -> tuple[float, float]:
    ids = await seed(url, 200)
    engine = create_engine(url)
    sessions = session_factory(engine)
    notifier = SleepyNotifier(0.0)
    green = EscalationEngine(
        sessions,
        policies(load_settings(None, {})),
        {"telegram": notifier, "email": notifier, "webhook": notifier},
    )
    committed = time.perf_counter()
    async with sessions.begin() as session:
        session.add_all(
            CaseRequest(
                student_id=i,
                priority="emergency",
                reason="risk_imminent",
                categories=[],
                details={},
                created_at=datetime.now(UTC),
            )
            for i in ids
        )
    while len(notifier.first) < len(ids):
        await green.tick(datetime.now(UTC))
    await engine.dispose()
    waits = sorted(t - committed for t in notifier.first.values())
    return statistics.median(waits), waits[int(0.99 * (len(waits) - 1))]


async def queue_notifications(url: str, count: int) -> None:
    ids = await seed(url, count)
    engine = create_engine(url)
    sessions = session_factory(engine)
    chain = policies(load_settings(None, {}))["urgent"].to_json()
    async with sessions.begin() as session:
        cases = [
            {
                "student_id": i,
                "priority": "urgent",
                "status": "acknowledged",
                "reason": "bench",
                "categories": [],
                "chain": chain,
                "step_index": 0,
                "round": 0,
                "token": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in ids
        ]
        await session.execute(insert(Case), cases)
        case_ids = list((await session.scalars(select(Case.id))).all())
        await session.execute(
            insert(Notification),
            [
                {
                    "case_id": c,
                    "idempotency_key": f"bench:{c}",
                    "kind": "update",
                    "recipient_type": "counselor",
                    "recipient_id": 1,
                    "contact_rank": 0,
                    "channel": "telegram",
                    "address": "1",
                    "tier": "school",
                    "token": 1,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "extra": {},
                    "created_at": NOW,
                }
                for c in case_ids
            ],
        )
    await engine.dispose()


async def drain(url: str, delay: float, start_at: float = 0.0) -> int:
    """One worker: tick until nothing is due; returns how many it sent.

    Worker processes wait for a common start time, so start-up (imports) is not measured.
    """
    engine = create_engine(url)
    sessions = session_factory(engine)
    notifier = SleepyNotifier(delay)
    green = EscalationEngine(
        sessions, policies(load_settings(None, {})), {"telegram": notifier}, concurrency=16
    )
    async with sessions() as session:
        await session.execute(select(1))  # connect before the clock starts
    if start_at:
        await asyncio.sleep(max(0.0, start_at - time.time()))
    while True:
        await green.tick(datetime.now(UTC))
        async with sessions() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.status.in_(("pending", "failed", "sending")))
            )
        if not left:
            break
    await engine.dispose()
    return notifier.count


async def throughput(url: str, workers: int, count: int, delay: float) -> float:
    await queue_notifications(url, count)
    start_at = time.time() + (0.5 if workers == 1 else 6.0)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--drain", url, str(delay), str(start_at)
        )
        for _ in range(workers)
    ]
    for proc in procs:
        if await asyncio.wait_for(proc.wait(), timeout=600) != 0:
            raise RuntimeError("a worker failed")
    elapsed = time.time() - start_at
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        sent = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "sent")
        )
        keys = await session.scalar(select(func.count(func.distinct(Notification.idempotency_key))))
    await engine.dispose()
    assert sent == count == keys, (sent, count, keys)
    return count / elapsed


async def main(count: int, delay: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p50, p99 = await latency(f"sqlite:///{Path(tmp) / 'lat.db'}")
        print(
            f"commit → first notification, 200 cases at once (SQLite): p50 {p50 * 1e3:.0f} ms,"
            f" p99 {p99 * 1e3:.0f} ms (target p99 < 1 s)"
        )
        rate = await throughput(f"sqlite:///{Path(tmp) / 'tp.db'}", 1, count, delay)
        print(
            f"dispatch, SQLite, 1 worker, {delay * 1e3:.0f} ms sends: {rate:,.0f} notifications/s"
        )
    rates = {}
    for workers in (1, 4):
        url = await pg_database()
        if url is None:
            return
        try:
            rates[workers] = await throughput(url, workers, count, delay)
        finally:
            await drop(url)
        print(f"dispatch, PostgreSQL, {workers} worker(s): {rates[workers]:,.0f} notifications/s")
    print(f"ratio 4 workers / 1 worker (PostgreSQL): {rates[4] / rates[1]:.2f} (target >= 2.5)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--drain":
        asyncio.run(drain(sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=4000)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    asyncio.run(main(args.notifications, args.delay))
