"""A district's year: what HeartGuard costs on a full database, against baselines in the same run.

Builds the district of issue 16 on SQLite or PostgreSQL with bulk Core inserts: 20 schools and
50,000 students (``--scale 0.1``: a tenth), a year of weekly reminders, check-ins and nudges,
about 2 million messages and 0.8 million assessments, 5,000 closed cases with their events and
alerts, and three students with 20,000 messages each. Then it measures:

- ``msg_p50_ms_empty`` / ``msg_p50_ms_heavy``: a text message through the pipeline for a
  student without history and for one with 20,000 messages, interleaved (target: heavy <= 1.3x
  empty);
- ``weekly_plan_ms``: one weekly-planning call at Friday 16:31 (everybody due) and
  ``weekly_plan_idle_ms`` at a minute when nobody is;
- ``tick_max_stall_ms``: the longest the event loop went without running a 5 ms heartbeat
  while ``run``'s scheduled work ran (reminder ticks through the Friday peak, Saturday's nudges
  and quiet minutes, caring contacts and missed check-ins; green-channel ticks every second and
  audits), against ``stall_baseline_ms``, the same heartbeat on an idle loop in this run
  (target 50 ms: the machine's own noise is in both);
- ``lock_wait_max_ms``: the longest a second process, writing a row every 20 ms meanwhile,
  waited for its transaction, and ``lock_errors``, how often it met "database is locked".

Sends go to an instant fake channel at ``--send-rate`` a second (1,000 by default, not
Telegram's 30), so the reminder peak fits in minutes; a faster rate only makes the loop busier.
The last line printed is one JSON object with every figure.

Run: ``.venv/bin/python bench/district.py [--db URL | --db pg] [--scale 0.1]``. ``make bench``
runs it at 0.1 scale; a full-scale run takes several minutes to build and to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from pgtemp import drop, pg_database
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import AppContext, build_runtime, policies
from bot.channels.port import Attachment, ChannelPlug, Delivery, DeliveryResult
from bot.config.settings import Settings, load_settings
from bot.services.pipeline import Inbound
from bot.services.reminder_plan import week_key
from bot.services.reminders import ReminderRunner
from bot.services.render import Outbound
from storage.crypto import DataCipher
from storage.db import create_engine, is_sqlite, session_factory
from storage.migrate import upgrade
from storage.models import (
    AuditEvent,
    Case,
    CaseEvent,
    ChannelIdentity,
    CheckinResult,
    Message,
    Notification,
    ReminderDelivery,
    RiskAssessmentRecord,
    School,
    SchoolClass,
    Student,
)

HERE = Path(__file__).resolve().parent
# Friday 2026-11-06 16:31 in Shanghai: the default weekly slot (Fri 16:30) is due.
NOW = datetime(2026, 11, 6, 8, 31, tzinfo=UTC)
YEAR = NOW - timedelta(days=364)
SEQUENCED = (
    "schools",
    "classes",
    "students",
    "student_channels",
    "messages",
    "risk_assessments",
    "checkin_results",
    "reminder_deliveries",
    "cases",
    "case_events",
    "notifications",
)
HEAVY_MESSAGES = 20_000
HEAVY_STUDENTS = 3
TEXTS = (
    "今天作业好多，有点累",
    "和同桌聊了一下午",
    "考试考砸了，心情一般",
    "周末想去打球",
    "最近睡得不太好",
    "老师今天表扬我了",
    "I am a bit tired today",
    "妈妈做的饭很好吃",
)


# -- building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """How big the district is at a scale."""

    students: int
    schools: int
    cases: int

    @classmethod
    def at(cls, scale: float) -> Size:
        return cls(
            students=max(100, int(50_000 * scale)),
            schools=max(2, int(20 * scale)),
            cases=max(20, int(5_000 * scale)),
        )


class Ids:
    """Explicit ids, so related rows are built without reading anything back."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


async def bulk(engine: AsyncEngine, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows with Core executemany, in transactions of 20,000."""
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 20_000:
            async with engine.begin() as conn:
                await conn.execute(insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        async with engine.begin() as conn:
            await conn.execute(insert(table), batch)
        count += len(batch)
    return count


def weekly_slot(week: int) -> tuple[str, datetime]:
    """The claim key and send time of the weekly reminder ``week`` weeks into the year."""
    at = NOW - timedelta(weeks=52 - week, minutes=1)
    return f"weekly:{week_key((at + timedelta(hours=8)).date())}", at


async def build(engine: AsyncEngine, size: Size, cipher: DataCipher) -> dict[str, int]:
    """The whole district; returns the row count of each table."""
    ids = Ids()
    counts: dict[str, int] = {}
    tokens = [cipher.encrypt(TEXTS[n % len(TEXTS)] + f" {n}") for n in range(256)]
    counts["schools"] = await bulk(
        engine,
        School.__table__,  # type: ignore[arg-type]
        (
            {
                "id": ids.take("schools"),
                "code": f"S{n:02d}",
                "name": f"第{n}学校",
                "timezone": "Asia/Shanghai",
                "created_at": YEAR,
            }
            for n in range(size.schools)
        ),
    )
    classes = max(1, size.students // 50)
    counts["classes"] = await bulk(
        engine,
        SchoolClass.__table__,  # type: ignore[arg-type]
        (
            {
                "id": n + 1,
                "school_id": n % size.schools + 1,
                "name": f"{n}班",
                "grade": 3 + n % 10,
                # One class in ten has its own slot (Thursday, some time in the afternoon).
                "reminder_weekday": 3 if n % 10 == 0 else None,
                "reminder_minute": 15 * 60 + n % 120 if n % 10 == 0 else None,
                "created_at": YEAR,
            }
            for n in range(classes)
        ),
    )
    roster = size.students
    everyone = roster + 1 + HEAVY_STUDENTS

    def student(sid: int) -> dict[str, Any]:
        klass = (sid - 1) % classes
        own = sid % 20 == 0  # one in twenty picks their own slot
        return {
            "id": sid,
            "school_id": klass % size.schools + 1,
            "class_id": klass + 1,
            "student_number": f"{sid:06d}",
            "display_name": f"学生{sid}",
            "grade": 3 + klass % 10,
            "language": "en" if sid % 25 == 0 else "zh",
            "consent_at": YEAR,
            "guardian_consent": True,
            "onboarded": True,
            "anonymous": False,
            # The empty and heavy students are measured through the pipeline only.
            "reminder_opt_in": sid <= roster,
            "reminder_weekday": sid % 7 if own else None,
            "reminder_minute": (8 * 60 + sid * 7) % 1440 if own else None,
            "status": "active",
            "created_at": YEAR,
        }

    counts["students"] = await bulk(
        engine,
        Student.__table__,  # type: ignore[arg-type]
        (student(sid) for sid in range(1, everyone + 1)),
    )
    counts["student_channels"] = await bulk(
        engine,
        ChannelIdentity.__table__,  # type: ignore[arg-type]
        (
            {
                "id": sid,
                "student_id": sid,
                "channel": "telegram",
                "external_id": str(100_000 + sid),
                "chat_id": str(100_000 + sid),
                "created_at": YEAR,
            }
            for sid in range(1, everyone + 1)
        ),
    )
    reminders, checkins = await _reminders(engine, ids, roster)
    counts["checkin_results"] = checkins
    messages, assessments = await _messages(engine, ids, roster, tokens)
    counts["messages"], counts["risk_assessments"] = messages, assessments
    counts |= await _cases(engine, ids, size, roster)
    counts["reminder_deliveries"] = reminders + counts.pop("caring")
    if engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; the measured work inserts rows too.
        async with engine.begin() as conn:
            for table in SEQUENCED:
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
            await conn.execute(text("ANALYZE"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return counts


async def _reminders(engine: AsyncEngine, ids: Ids, roster: int) -> tuple[int, int]:
    """Every fourth week a weekly reminder; 60% answered with a check-in, the rest nudged."""
    checkins: list[dict[str, Any]] = []

    def rows() -> Iterator[dict[str, Any]]:
        for week in range(52):
            slot, at = weekly_slot(week)
            for sid in range(1 + (4 - week % 4) % 4, roster + 1, 4):
                sent = at + timedelta(seconds=sid % 60)
                yield {
                    "id": ids.take("reminders"),
                    "student_id": sid,
                    "kind": "weekly",
                    "slot": slot,
                    "status": "sent",
                    "claimed_at": sent,
                    "sent_at": sent,
                }
                if (sid * 3 + week) % 5 < 3:
                    checkins.append(
                        {
                            "student_id": sid,
                            "instrument": "mood",
                            "answers": [3],
                            "score": 3,
                            "band": "okay",
                            "created_at": sent + timedelta(hours=2),
                        }
                    )
                else:
                    yield {
                        "id": ids.take("reminders"),
                        "student_id": sid,
                        "kind": "nudge",
                        "slot": slot.replace("weekly:", "nudge:"),
                        "status": "sent",
                        "claimed_at": sent + timedelta(days=1),
                        "sent_at": sent + timedelta(days=1),
                    }

    reminders = await bulk(engine, ReminderDelivery.__table__, rows())  # type: ignore[arg-type]
    return reminders, await bulk(engine, CheckinResult.__table__, checkins)  # type: ignore[arg-type]


async def _messages(
    engine: AsyncEngine, ids: Ids, roster: int, tokens: Sequence[bytes]
) -> tuple[int, int]:
    """A year of chat, day by day: each student talks on one day in 18, the heavy ones daily."""
    assessments: list[dict[str, Any]] = []
    heavy = range(roster + 2, roster + 2 + HEAVY_STUDENTS)
    assessed = 0

    def pair(sid: int, at: datetime, assess: bool) -> Iterator[dict[str, Any]]:
        mid = ids.take("messages")
        base = {"student_id": sid, "kind": "text", "channel": "telegram", "created_at": at}
        yield base | {
            "id": mid,
            "direction": "in",
            "channel_chat_id": str(100_000 + sid),
            "channel_message_id": str(mid),
            "text_enc": tokens[mid % len(tokens)],
        }
        if assess:
            assessments.append(
                {
                    "id": ids.take("assessments"),
                    "message_id": mid,
                    "student_id": sid,
                    "level": "none",
                    "categories": [],
                    "evidence": [],
                    "explanation": "",
                    "detector_version": "bench",
                    "created_at": at,
                }
            )
        out = ids.take("messages")
        yield base | {
            "id": out,
            "direction": "out",
            "channel_chat_id": str(100_000 + sid),
            "channel_message_id": str(out),
            "text_enc": tokens[out % len(tokens)],
        }

    async def flush_assessments() -> None:
        nonlocal assessed
        assessed += await bulk(engine, RiskAssessmentRecord.__table__, assessments)  # type: ignore[arg-type]
        assessments.clear()

    count = 0
    for day in range(365):
        start = YEAR + timedelta(days=day, hours=4)

        def today(day: int = day, start: datetime = start) -> Iterator[dict[str, Any]]:
            # sid * 13 + day = 0 (mod 18) picks one day in 18 for each student.
            for sid in range((-7 * day) % 18 or 18, roster + 1, 18):
                yield from pair(sid, start + timedelta(seconds=sid % 36_000), (sid + day) % 5 != 0)
            for sid in heavy:
                pairs = (HEAVY_MESSAGES // 2 * (day + 1)) // 365 - (
                    HEAVY_MESSAGES // 2 * day
                ) // 365
                for n in range(pairs):
                    yield from pair(sid, start + timedelta(minutes=n * 20), True)

        count += await bulk(engine, Message.__table__, today())  # type: ignore[arg-type]
        if len(assessments) >= 20_000:
            await flush_assessments()
    await flush_assessments()
    return count, assessed


async def _cases(engine: AsyncEngine, ids: Ids, size: Size, roster: int) -> dict[str, int]:
    """Closed cases spread over the year, with events, alerts and the caring contacts sent."""
    chain = policies(load_settings(None, {}))["urgent"].to_json()
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    caring: list[dict[str, Any]] = []
    span = (NOW - YEAR).total_seconds()
    for n in range(size.cases):
        cid = ids.take("cases")
        sid = (n * 7919) % roster + 1
        opened = YEAR + timedelta(seconds=span * n / size.cases)
        closed = opened + timedelta(days=3)
        done = closed <= NOW
        cases.append(
            {
                "id": cid,
                "student_id": sid,
                "school_id": ((sid - 1) % max(1, roster // 50)) % size.schools + 1,
                "priority": "urgent",
                "status": "resolved" if done else "acknowledged",
                "resolution": "safe" if done else None,
                "reason": "risk_high",
                "categories": ["suicide_ideation"],
                "chain": chain,
                "step_index": 1,
                "round": 0,
                "token": 2,
                "acknowledged_at": opened + timedelta(minutes=4),
                "acknowledged_by": None,
                "contacted_at": opened + timedelta(minutes=30),
                "closed_at": closed if done else None,
                "created_at": opened,
                "updated_at": closed if done else opened,
            }
        )
        actions = ("opened", "notified", "acknowledged", "viewed", "contacted", "resolved")
        for step, action in enumerate(actions if done else actions[:5]):
            events.append(
                {
                    "id": ids.take("events"),
                    "case_id": cid,
                    "at": opened + timedelta(minutes=10 * step),
                    "actor": "system",
                    "action": action,
                    "details": {},
                }
            )
        for rank in range(2):
            alerts.append(
                {
                    "id": ids.take("notifications"),
                    "case_id": cid,
                    "idempotency_key": f"case:{cid}:t1:r0s0:c{rank}",
                    "kind": "alert",
                    "recipient_type": "counselor",
                    "recipient_id": 1,
                    "contact_rank": rank,
                    "channel": "telegram",
                    "address": "1",
                    "tier": "school",
                    "token": 1,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_at": opened,
                    "extra": {},
                    "created_at": opened,
                    "sent_at": opened + timedelta(seconds=2),
                }
            )
        for day in (1, 3, 7, 14, 28):
            at = closed + timedelta(days=day)
            if done and at + timedelta(days=2) < NOW:
                caring.append(
                    {
                        "id": ids.take("reminders"),
                        "student_id": sid,
                        "kind": "caring",
                        "slot": f"caring:{cid}:d{day}",
                        "status": "sent",
                        "claimed_at": at,
                        "sent_at": at,
                    }
                )
    return {
        "cases": await bulk(engine, Case.__table__, cases),  # type: ignore[arg-type]
        "case_events": await bulk(engine, CaseEvent.__table__, events),  # type: ignore[arg-type]
        "notifications": await bulk(engine, Notification.__table__, alerts),  # type: ignore[arg-type]
        "caring": await bulk(engine, ReminderDelivery.__table__, caring),  # type: ignore[arg-type]
    }


# -- measuring ----------------------------------------------------------------------------------


class InstantPort:
    """A student channel that delivers at once and counts."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent = 0

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        self.sent += 1
        return DeliveryResult(Delivery.DELIVERED)


class Heartbeat:
    """Runs every 5 ms on the loop and records how late each beat was."""

    PERIOD = 0.005

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.PERIOD)
            now = time.perf_counter()
            self.gaps.append(max(0.0, now - last - self.PERIOD))
            last = now

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def worst_ms(self) -> float:
        return max(self.gaps, default=0.0) * 1e3

    def p99_ms(self) -> float:
        ordered = sorted(self.gaps)
        return ordered[int(0.99 * (len(ordered) - 1))] * 1e3 if ordered else 0.0


async def warm(runtime: Any) -> None:
    """What ``run`` does before its first update (older code: load the detector only)."""
    if hasattr(runtime, "warm_up"):
        await runtime.warm_up()
    else:
        runtime.detector.warm_up()


async def messages(app: AppContext, roster: int, count: int) -> tuple[float, float]:
    """p50 of a text message through the pipeline: the empty student, then the heavy one."""
    runtime = build_runtime(app, plugs={"telegram": None})
    await warm(runtime)
    pipeline = runtime.pipeline
    who = {"empty": roster + 1, "heavy": roster + 2}
    times: dict[str, list[float]] = {"empty": [], "heavy": []}
    now = NOW + timedelta(hours=1)
    for n in range(count + 20):
        for name, sid in who.items():
            inbound = Inbound(
                channel="telegram",
                external_id=str(100_000 + sid),
                chat_id=str(100_000 + sid),
                kind="text",
                value=TEXTS[n % len(TEXTS)],
            )
            now += timedelta(seconds=1)
            t0 = time.perf_counter()
            await pipeline.handle(inbound, now)
            if n >= 20:  # the first few warm caches and prepared statements
                times[name].append(time.perf_counter() - t0)
    await runtime.aclose()
    return statistics.median(times["empty"]) * 1e3, statistics.median(times["heavy"]) * 1e3


async def weekly_plan(runner: ReminderRunner) -> tuple[float, float]:
    """One planning call with everybody due (Friday 16:31), and one with nobody (Wed 10:00)."""
    results = []
    for moment in (NOW, NOW - timedelta(days=2, hours=6, minutes=31)):
        async with runner.sessions() as session:
            t0 = time.perf_counter()
            await runner.plan_weekly(session, moment)
            results.append((time.perf_counter() - t0) * 1e3)
            await session.rollback()
    return results[0], results[1]


async def writer(url: str) -> None:
    """The second process: a small write every 20 ms until SIGTERM; prints its waits as JSON."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    waits: list[float] = []
    errors = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            async with sessions.begin() as session:
                session.add(
                    AuditEvent(
                        at=datetime.now(UTC),
                        actor="bench",
                        action="bench_write",
                        subject_type="bench",
                        subject_id="1",
                        details={},
                    )
                )
            waits.append(time.perf_counter() - t0)
        except (OperationalError, sqlite3.OperationalError) as exc:
            if "locked" not in str(exc):
                raise
            errors += 1
        await asyncio.sleep(0.02)
    await engine.dispose()
    print(
        json.dumps(
            {
                "writes": len(waits),
                "lock_wait_max_ms": max(waits, default=0.0) * 1e3,
                "lock_wait_p50_ms": statistics.median(waits) * 1e3 if waits else 0.0,
                "lock_errors": errors,
            }
        )
    )


async def scheduled_work(
    runtime: Any, port: InstantPort, budget: float
) -> tuple[dict[str, Any], int]:
    """``run``'s timers over a Friday peak, Saturday's nudges and quiet minutes.

    Reminder ticks run one after another on a simulated clock; the green channel ticks every
    second and the auditor every 10 s, all on this loop, as in ``run``.
    """
    runner = runtime.scheduler.reminders[0]
    simulated = NOW
    stop = asyncio.Event()

    async def every(seconds: float, job: Any) -> None:
        while not stop.is_set():
            await job(simulated)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

    background = [
        asyncio.create_task(every(1.0, runtime.green.engine.tick)),
        asyncio.create_task(every(10.0, runtime.green.auditor.audit)),
    ]
    deadline = time.monotonic() + budget
    ticks: dict[str, Any] = {"ticks": 0, "sent": 0, "alerts": 0, "tick_s": []}
    moments = [
        NOW,  # Friday 16:31: everyone's weekly reminder
        NOW + timedelta(minutes=5),  # a quiet Friday minute: all claimed
        NOW + timedelta(days=1, minutes=1),  # Saturday 16:32: the nudges
        NOW + timedelta(days=1, minutes=30),  # quiet Saturday minutes
        NOW + timedelta(days=1, hours=2),
    ]
    for moment in moments:
        if time.monotonic() > deadline:
            break
        simulated = moment
        t0 = time.perf_counter()
        report = await runner.tick(moment)
        ticks["tick_s"].append(round(time.perf_counter() - t0, 2))
        ticks["ticks"] += 1
        ticks["sent"] += report.sent
        ticks["alerts"] += report.alerts
    stop.set()
    await asyncio.gather(*background)
    return ticks, port.sent


async def stalls(app: AppContext, url: str, send_rate: float, budget: float) -> dict[str, Any]:
    """The heartbeat on an idle loop (baseline), then during the scheduled work with a writer.

    The runtime is built and warmed up first, as ``run`` does before its first update.
    """
    port = InstantPort()
    plug = ChannelPlug(name="telegram", port=port, reminder_rate=send_rate)
    runtime = build_runtime(app, plugs={"telegram": plug}, reminders=True)
    await warm(runtime)
    idle = Heartbeat()
    idle.start()
    await asyncio.sleep(min(10.0, budget / 6))
    await idle.stop()
    second = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--writer",
        url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.getcwd()])},
    )
    await asyncio.sleep(2.0)  # the writer is up and writing
    beat = Heartbeat()
    beat.start()
    t0 = time.perf_counter()
    ticks, sent = await scheduled_work(runtime, port, budget)
    seconds = time.perf_counter() - t0
    await beat.stop()
    await runtime.aclose()
    second.send_signal(signal.SIGTERM)
    out, _ = await second.communicate()
    lines = out.decode().strip().splitlines()
    written = json.loads(lines[-1]) if lines else {"lock_wait_max_ms": None, "lock_errors": None}
    return {
        "tick_max_stall_ms": round(beat.worst_ms(), 1),
        "tick_p99_stall_ms": round(beat.p99_ms(), 2),
        "stall_baseline_ms": round(idle.worst_ms(), 1),
        "scheduled_s": round(seconds, 1),
        "reminders_sent": sent,
        **{k: v for k, v in ticks.items() if k != "sent"},
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in written.items()},
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    size = Size.at(args.scale)
    temp: str | None = None
    url = args.db
    if url == "pg":
        url = await pg_database()
        if url is None:
            return {"skipped": "no PostgreSQL"}
    elif url is None:
        temp = tempfile.mkdtemp(prefix="district-")
        url = f"sqlite:///{Path(temp) / 'district.db'}"
    key = args.key or Fernet.generate_key().decode()
    settings: Settings = load_settings(None, {})
    engine = create_engine(url)
    figures: dict[str, Any] = {
        "db": "sqlite" if is_sqlite(url) else "postgresql",
        "scale": args.scale,
    }
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            existing = (await conn.execute(select(func.count()).select_from(Student))).scalar()
        t0 = time.perf_counter()
        if not existing:
            rows = await build(engine, size, DataCipher([key]))
            figures["build_s"] = round(time.perf_counter() - t0, 1)
            figures["rows"] = rows
            print(f"built in {figures['build_s']} s: {rows}", flush=True)
        if args.build_only:
            print(f"key: {key}")
            return figures
        app = AppContext(settings, engine, session_factory(engine), DataCipher([key]))
        empty, heavy = await messages(app, size.students, args.messages)
        figures |= {
            "msg_p50_ms_empty": round(empty, 2),
            "msg_p50_ms_heavy": round(heavy, 2),
            "msg_heavy_ratio": round(heavy / empty, 2),
        }
        print(f"message p50: empty {empty:.2f} ms, heavy {heavy:.2f} ms", flush=True)
        runtime = build_runtime(app, plugs={"telegram": None})
        runner = ReminderRunner(
            app.sessions, settings, runtime.pipeline.renderer, InstantPort(), rate=args.send_rate
        )
        due, idle = await weekly_plan(runner)
        figures |= {"weekly_plan_ms": round(due, 1), "weekly_plan_idle_ms": round(idle, 1)}
        print(f"weekly plan: {due:.1f} ms at the peak, {idle:.1f} ms off-slot", flush=True)
        figures |= await stalls(app, url, args.send_rate, args.budget)
    finally:
        await engine.dispose()
        if args.db == "pg" and not args.keep:
            await drop(url)
        if temp is not None and not args.keep:
            shutil.rmtree(temp, ignore_errors=True)
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--writer":
        asyncio.run(writer(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL, or 'pg' for a throwaway PostgreSQL one")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--messages", type=int, default=200, help="timed messages per student")
    parser.add_argument("--send-rate", type=float, default=1000.0)
    parser.add_argument("--budget", type=float, default=300.0, help="scheduled work, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--key", help="the data key of a database built before (with --db)")
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, ensure_ascii=False))
