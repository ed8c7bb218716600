"""Chaos: workers killed with SIGKILL, the database cut off or locked, the receivers down, all
while cases keep coming, on SQLite and PostgreSQL. Each run counts what was lost.

Every case alerts two counselors at once, one by a signed webhook (an HTTP receiver in this
process) and one by e-mail (aiosmtpd); both record each delivery with its idempotency key
(``webhook-id``; the e-mail's Message-ID is derived from the same key). Counted:

- lost: a queued alert whose key never reached its receiver, or a case request that never
  became a case (target 0);
- duplicates: deliveries beyond the first of a key (target 0);
- stuck: requests not taken in, notifications not sent, once the faults are over and one
  worker has had time to finish (target 0);
- the longest delay from a request, or from the recovery when the request came during the
  fault, to its first alert (reported, never asserted).

A kill between a send reaching the receiver and its "sent" mark committing cannot be told
from a kill before the send: that alert is sent again, with the same idempotency key, so a
receiver following Standard Webhooks drops it. The kill test therefore proves the bound it
can: every duplicate belongs to a claim that a kill interrupted, at most one per such claim.
The faults that kill nothing (outages) must give no duplicate at all.

PostgreSQL serves other test runs on this machine, so it is never stopped: its outage is a
TCP proxy between the worker and the server that the test cuts and restores (a partition:
requests keep arriving over the direct connection, as from bot processes on the far side).
On SQLite the matching fault is another process holding the write lock for a while.

HEARTGUARD_CHAOS_CYCLES (default 50) and HEARTGUARD_CHAOS_OUTAGE (seconds, default 4) make a
longer run possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.duty import round_the_clock
from escalation.notifiers.email import digest
from storage.db import is_sqlite
from storage.models import (
    Case,
    CaseRequest,
    Counselor,
    CounselorContact,
    Notification,
    School,
    Student,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    # The receivers and the proxy are stopped and the workers killed mid-conversation, on
    # purpose: sockets their threads held are left for the collector to close.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
HOST = "127.0.0.1"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CYCLES = int(os.environ.get("HEARTGUARD_CHAOS_CYCLES", "50"))
OUTAGE = float(os.environ.get("HEARTGUARD_CHAOS_OUTAGE", "4"))
LEASE = 8.0  # the shortest the settings allow with 2 s timeouts is 7 s
SEND_TIMEOUT = 2.0
REQUEST_EVERY = 0.1
DRAIN_LIMIT = 90.0
WORKER = Path(__file__).with_name("chaos_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- receivers that record every delivery and can go down ------------------------------


@dataclass
class Deliveries:
    """Every delivery any receiver accepted: (idempotency key, monotonic time)."""

    got: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str) -> None:
        with self.lock:
            self.got.append((key, time.monotonic()))

    def snapshot(self) -> list[tuple[str, float]]:
        with self.lock:
            return list(self.got)


class Webhooks:
    """A hospital-style webhook receiver on a fixed port, recording each ``webhook-id``."""

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/alerts"

    def start(self) -> None:
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                deliveries.add(self.headers["webhook-id"])
                time.sleep(0.01)  # a receiver takes a moment: kills land mid-request too
                self.send_response(200)
                self.send_header("content-length", "0")
                # One request per connection: once stopped, the receiver is really down.
                self.send_header("connection", "close")
                self.close_connection = True
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Mailbox:
    """An SMTP server (aiosmtpd) on a fixed port, recording each Message-ID."""

    def __init__(self, deliveries: Deliveries, keys: dict[str, str]) -> None:
        self.deliveries = deliveries
        self.keys = keys  # Message-ID digest → idempotency key, filled by the test
        self.port = free_port()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        ident = str(message["Message-ID"]).strip("<>").split(".", 1)[0]
        self.deliveries.add(f"mail:{ident}")
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname=HOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Refuse new connections, let the sessions in flight finish, then stop."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        server = controller.server
        if server is not None:
            controller.loop.call_soon_threadsafe(server.close)
            time.sleep(0.5)
        controller.stop()


# --- a TCP proxy that the test cuts, standing for a PostgreSQL outage ---------------------


class Proxy:
    """Forwards a local port to PostgreSQL; ``cut`` drops every connection and refuses new
    ones, ``restore`` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


# --- the district, the requests, the workers ---------------------------------------------


@dataclass
class Run:
    """One chaos run's world and what it observed."""

    sessions: async_sessionmaker[AsyncSession]
    students: list[int]
    deliveries: Deliveries
    requested: dict[int, float] = field(default_factory=dict)  # student → monotonic time
    recovered: float = 0.0  # when the fault ended (monotonic); 0 for none
    log: Path | None = None  # the workers' log lines (stderr)


async def seed(
    sessions: async_sessionmaker[AsyncSession], webhook_url: str, students: int
) -> list[int]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    async with sessions.begin() as session:
        school = School(code="C", name="混沌测试学校", timezone="Asia/Shanghai", created_at=now)
        session.add(school)
        await session.flush()
        for name, channel, address in (
            ("网钩老师", "webhook", webhook_url),
            ("邮件老师", "email", "duty@chaos.invalid"),
        ):
            counselor = Counselor(
                name=name, role="school_counselor", scope="school", created_at=now
            )
            session.add(counselor)
            await session.flush()
            session.add(
                CounselorContact(
                    counselor_id=counselor.id, channel=channel, address=address, rank=0
                )
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
        await session.execute(
            insert(Student),
            [
                {
                    "school_id": school.id,
                    "display_name": f"学生{n}",
                    "status": "active",
                    "created_at": now,
                    "language": "zh",
                    "guardian_consent": True,
                    "reminder_opt_in": False,
                    "onboarded": True,
                    "anonymous": False,
                }
                for n in range(students)
            ],
        )
        return list((await session.scalars(select(Student.id).order_by(Student.id))).all())


async def keep_requesting(run: Run, stop: asyncio.Event) -> None:
    """A new student asks for help every REQUEST_EVERY seconds, as the bot would record it."""
    from datetime import UTC, datetime

    for student in run.students:
        if stop.is_set():
            return
        async with run.sessions.begin() as session:
            session.add(
                CaseRequest(
                    student_id=student,
                    priority="urgent",
                    reason="risk_high",
                    categories=[],
                    details={},
                    created_at=datetime.now(UTC),
                )
            )
        run.requested[student] = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REQUEST_EVERY)
    raise AssertionError("ran out of students: seed more")


class Workers:
    """The forking parent of chaos_worker.py; each worker is a real process to kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.parent = subprocess.Popen(
            [sys.executable, str(WORKER)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )

    def start(self) -> int:
        assert self.parent.stdin is not None
        assert self.parent.stdout is not None
        self.parent.stdin.write(b"fork\n")
        self.parent.stdin.flush()
        return int(self.parent.stdout.readline())

    def close(self) -> None:
        if self.parent.poll() is None:
            assert self.parent.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.parent.stdin.write(b"quit\n")
                self.parent.stdin.flush()
            try:
                self.parent.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.parent.kill()
                self.parent.wait(timeout=10)
        for pipe in (self.parent.stdin, self.parent.stdout):
            if pipe is not None:
                pipe.close()
        self._log.close()


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class Tally:
    """What a run lost, repeated and left behind."""

    lost: int
    duplicates: int
    stuck: int
    alerts: int
    longest_delay: float  # to a first alert, from the recovery (or the request, if later)
    longest_from_request: float
    per_key: Counter[str]


async def tally(run: Run) -> Tally:
    async with run.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Notification.idempotency_key,
                    Notification.channel,
                    Notification.status,
                    Case.student_id,
                ).join(Case, Case.id == Notification.case_id)
            )
        ).all()
        waiting = await session.scalar(
            select(func.count()).select_from(CaseRequest).where(CaseRequest.handled_at.is_(None))
        )
        # A case taken in whose first step has not queued its alerts yet.
        silent = await session.scalar(
            select(func.count())
            .select_from(Case)
            .where(~select(Notification.id).where(Notification.case_id == Case.id).exists())
        )
    keys: dict[str, str] = {}
    student_of: dict[str, int] = {}
    for key, channel, status, student in rows:
        seen = f"mail:{digest(key)}" if channel == "email" else key
        keys[seen], student_of[seen] = status, student
    delivered = run.deliveries.snapshot()
    per_key = Counter(key for key, _ in delivered)
    first_alert: dict[int, float] = {}  # student → their first alert's arrival
    for key, at in delivered:
        student = student_of.get(key)
        if student is not None and student not in first_alert:
            first_alert[student] = at
    unfinished = int(waiting or 0) + int(silent or 0)
    lost = sum(1 for key in keys if key not in per_key) + unfinished
    stuck = sum(1 for status in keys.values() if status != "sent") + unfinished
    duplicates = sum(count - 1 for count in per_key.values())
    waits = [
        (at - run.requested[student], at - max(run.requested[student], run.recovered))
        for student, at in first_alert.items()
        if student in run.requested
    ]
    if os.environ.get("HEARTGUARD_CHAOS_DIAG") and first_alert:
        worst = max(
            (s for s in first_alert if s in run.requested),
            key=lambda s: first_alert[s] - max(run.requested[s], run.recovered),
        )
        print(
            f"DIAG worst student {worst}: requested {run.requested[worst] - run.recovered:+.1f}s "
            f"first alert {first_alert[worst] - run.recovered:+.1f}s from recovery"
        )
    return Tally(
        lost,
        duplicates,
        stuck,
        len(keys),
        max((after for _, after in waits), default=0.0),
        max((since for since, _ in waits), default=0.0),
        per_key,
    )


async def drained(run: Run) -> bool:
    current = await tally(run)
    return current.stuck == 0 and current.lost == 0


async def settle(run: Run) -> None:
    """Wait (up to DRAIN_LIMIT) until nothing is lost or left to do."""
    for _ in range(int(DRAIN_LIMIT / 0.5)):
        if await drained(run):
            return
        await asyncio.sleep(0.5)


async def drain(run: Run, workers: Workers) -> None:
    """One healthy worker until nothing is left to do (or the limit)."""
    pid = workers.start()
    run.recovered = time.monotonic()
    try:
        await settle(run)
    finally:
        kill(pid)


async def leftovers(run: Run) -> list[str]:
    """What was not finished, for the report: ids and states, never text."""
    async with run.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Notification.id,
                    Notification.channel,
                    Notification.status,
                    Notification.attempts,
                    Notification.last_error,
                    Notification.next_attempt_at,
                    Notification.lease_until,
                ).where(Notification.status != "sent")
            )
        ).all()
        waiting = (
            await session.execute(
                select(CaseRequest.id, CaseRequest.attempts, CaseRequest.last_error).where(
                    CaseRequest.handled_at.is_(None)
                )
            )
        ).all()
    return [f"notification {tuple(row)}" for row in rows] + [
        f"request {tuple(row)}" for row in waiting
    ]


async def report(run: Run, name: str, db: str, result: Tally, **extra: object) -> None:
    details = " ".join(f"{k}={v}" for k, v in extra.items())
    for line in await leftovers(run):
        print(f"CHAOS {name} [{db}] left: {line}")
    if (result.lost or result.stuck) and run.log is not None and run.log.exists():
        for line in run.log.read_text(errors="replace").splitlines()[-40:]:
            print(f"CHAOS {name} [{db}] worker log: {line}")
    print(
        f"\nCHAOS {name} [{db}]: alerts={result.alerts} lost={result.lost} "
        f"duplicates={result.duplicates} stuck={result.stuck} "
        f"longest_delay_after_recovery={result.longest_delay:.1f}s "
        f"longest_from_request={result.longest_from_request:.1f}s {details}".rstrip()
    )


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
async def chaos(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Start receivers and the worker parent on the test database; stop them at the end."""
    deliveries = Deliveries()
    webhooks, mailbox = Webhooks(deliveries), Mailbox(deliveries, {})
    webhooks.start()
    mailbox.start()
    parents: list[Workers] = []
    students = await seed(sessions, webhooks.url, 1500)

    def workers(url: str = db_url) -> Workers:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CHAOS_DATABASE_URL": url,
            "CHAOS_WEBHOOK_SECRET": SECRET,
            "CHAOS_SMTP_PORT": str(mailbox.port),
            "CHAOS_LEASE": str(LEASE),
            "CHAOS_SEND_TIMEOUT": str(SEND_TIMEOUT),
        }
        parent = Workers(env, tmp_path / "workers.log")
        parents.append(parent)
        return parent

    def world() -> tuple[Run, Webhooks, Mailbox, Callable[..., Workers]]:
        return (
            Run(sessions, students, deliveries, log=tmp_path / "workers.log"),
            webhooks,
            mailbox,
            workers,
        )

    yield world
    for parent in parents:
        parent.close()
    webhooks.stop()
    mailbox.stop()


@contextlib.asynccontextmanager
async def requests_flowing(run: Run) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(keep_requesting(run, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def in_flight(run: Run) -> set[tuple[str, object]]:
    """Claims left "sending" (key and lease): the sends a kill may have cut short."""
    async with run.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Notification.idempotency_key, Notification.channel, Notification.lease_until
                ).where(Notification.status == "sending")
            )
        ).all()
    return {(f"mail:{digest(k)}" if channel == "email" else k, lease) for k, channel, lease in rows}


# --- the tests ----------------------------------------------------------------------------


async def test_workers_killed_at_random_moments_lose_nothing(
    db_url: str, chaos: Callable[..., Any]
) -> None:
    run, _, _, workers_for = chaos()
    workers = workers_for()
    rng = random.Random(11)
    interrupted: set[tuple[str, object]] = set()
    async with requests_flowing(run):
        for _ in range(CYCLES):
            pid = workers.start()
            await asyncio.sleep(rng.uniform(0.1, 0.7))
            kill(pid)
            await asyncio.sleep(0.1)  # a commit on its way when the kill landed lands first
            interrupted |= await in_flight(run)
    await drain(run, workers)
    await asyncio.sleep(0.3)  # a commit on its way (through the proxy, say) lands first
    result = await tally(run)
    await report(
        run, "kill -9", db_name(db_url), result, cycles=CYCLES, interrupted=len(interrupted)
    )
    assert result.lost == 0
    assert result.stuck == 0
    # Each duplicate is a resend of a claim that a kill cut short after its send: at most
    # one per such claim, never more.
    cut_short = Counter(key for key, _ in interrupted)
    over = {key: n - 1 for key, n in result.per_key.items() if n - 1 > cut_short[key]}
    assert over == {}
    assert result.duplicates <= len(interrupted)


async def test_the_database_going_away_under_load_loses_nothing(
    db_url: str, chaos: Callable[..., Any]
) -> None:
    run, _, _, workers_for = chaos()
    if is_sqlite(db_url):
        await _sqlite_locked(run, workers_for())
        fault = "SQLite write lock held"
    else:
        await _pg_cut_off(run, db_url, workers_for)
        fault = "PostgreSQL cut off (TCP proxy)"
    await asyncio.sleep(0.3)  # a commit on its way (through the proxy, say) lands first
    result = await tally(run)
    await report(run, fault, db_name(db_url), result, outage=f"{OUTAGE:g}s")
    assert (result.lost, result.stuck, result.duplicates) == (0, 0, 0)


async def _pg_cut_off(run: Run, db_url: str, workers_for: Callable[..., Workers]) -> None:
    url = make_url(db_url)
    proxy = Proxy((url.host or HOST, url.port or 5432))
    proxy.restore()
    through = url.set(host=HOST, port=proxy.port).render_as_string(hide_password=False)
    workers = workers_for(through)
    pid = workers.start()
    try:
        async with requests_flowing(run):
            await asyncio.sleep(1.5)
            proxy.cut()
            await asyncio.sleep(OUTAGE)
            proxy.restore()
            run.recovered = time.monotonic()
            await asyncio.sleep(1.5)
        await settle(run)
    finally:
        kill(pid)
        proxy.cut()


async def _sqlite_locked(run: Run, workers: Workers) -> None:
    path = make_url(str(run.sessions.kw["bind"].url)).database
    assert path is not None
    pid = workers.start()
    try:
        async with requests_flowing(run):
            await asyncio.sleep(1.5)
            # A backup or a bulk import elsewhere holds the write lock for a while.
            holder = sqlite3.connect(path, isolation_level=None, timeout=30)
            holder.execute("BEGIN IMMEDIATE")
            await asyncio.sleep(OUTAGE)
            holder.execute("ROLLBACK")
            holder.close()
            run.recovered = time.monotonic()
            await asyncio.sleep(1.5)
        await settle(run)
    finally:
        kill(pid)


async def test_receivers_down_for_a_while_lose_nothing(
    db_url: str, chaos: Callable[..., Any]
) -> None:
    run, webhooks, mailbox, workers_for = chaos()
    workers = workers_for()
    pid = workers.start()
    try:
        async with requests_flowing(run):
            await asyncio.sleep(1.5)
            webhooks.stop()
            mailbox.stop()
            await asyncio.sleep(OUTAGE)
            webhooks.start()
            mailbox.start()
            run.recovered = time.monotonic()
            await asyncio.sleep(1.5)
        await settle(run)
    finally:
        kill(pid)
    await asyncio.sleep(0.3)  # a commit on its way (through the proxy, say) lands first
    result = await tally(run)
    await report(
        run, "SMTP and webhook receiver down", db_name(db_url), result, outage=f"{OUTAGE:g}s"
    )
    assert (result.lost, result.stuck, result.duplicates) == (0, 0, 0)


def db_name(url: str) -> str:
    return "sqlite" if is_sqlite(url) else "postgresql"
