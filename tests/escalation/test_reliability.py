"""Crash safety and several workers, with real `heartguard worker` processes, a real database
and a real HTTP receiver checking Standard Webhooks signatures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.duty import round_the_clock
from escalation.notifiers.webhook import verify
from storage.models import (
    CaseEvent,
    CaseRequest,
    Counselor,
    CounselorContact,
    Notification,
    School,
    Student,
)

if TYPE_CHECKING:
    from conftest import HttpReceiver  # the notifier tests' receiver, in this folder

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime.now(UTC)


async def seed(sessions: async_sessionmaker[AsyncSession], url: str, students: int) -> None:
    async with sessions.begin() as session:
        school = School(code="R", name="可靠性测试学校", timezone="Asia/Shanghai", created_at=NOW)
        session.add(school)
        await session.flush()
        counselor = Counselor(
            name="值班老师", role="school_counselor", scope="school", created_at=NOW
        )
        session.add(counselor)
        await session.flush()
        session.add(
            CounselorContact(
                counselor_id=counselor.id, channel="webhook", address=url + "/alerts", rank=0
            )
        )
        round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=NOW)
        await session.execute(
            insert(Student),
            [
                {
                    "school_id": school.id,
                    "display_name": f"学生{n}",
                    "status": "active",
                    "created_at": NOW,
                    "language": "zh",
                    "guardian_consent": True,
                    "reminder_opt_in": False,
                    "onboarded": True,
                    "anonymous": False,
                }
                for n in range(students)
            ],
        )
        ids = (await session.scalars(select(Student.id))).all()
        await session.execute(
            insert(CaseRequest),
            [
                {
                    "student_id": i,
                    "priority": "emergency",
                    "reason": "risk_imminent",
                    "categories": [],
                    "details": {},
                    "created_at": NOW,
                }
                for i in ids
            ],
        )


@pytest.fixture
def worker(db_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start `heartguard worker` processes on the test database; all are killed at the end."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[escalation]\ntick_interval = "1s"\naudit_interval = "1m"\nnotification_lease = "10s"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "HEARTGUARD_DATABASE_URL": db_url,
        "HEARTGUARD_WEBHOOK_SECRET": SECRET,
        "HEARTGUARD_DATA_KEY": Fernet.generate_key().decode(),
        "HEARTGUARD_CONFIG": str(config),
    }
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def wait_for(check: Callable[[], object], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting")


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            )
        ).all()
    return dict(rows)  # type: ignore[arg-type]


async def test_sigkill_mid_send_loses_nothing_and_duplicates_share_a_key(
    sessions: async_sessionmaker[AsyncSession],
    receiver: HttpReceiver,
    worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    await seed(sessions, receiver.url, students=1)
    receiver.hang = True  # the first delivery hangs: the worker is killed in the middle of it
    first = worker()
    await wait_for(lambda: len(receiver.requests) >= 1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert (await statuses(sessions)) == {"sending": 1}  # committed claim, unfinished send
    receiver.hang = False
    receiver.release.set()
    second = worker()  # killed again straight after start-up, before the lease runs out
    await asyncio.sleep(1.5)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)
    worker()
    await wait_for(lambda: _sent(sessions))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) >= 2
    assert len(set(ids)) == 1  # every retry carried the same idempotency key
    for request in receiver.requests[1:]:
        payload = verify(SECRET, request.headers, request.body, now=time.time())
        assert payload["type"] == "case.alert"


async def _sent(sessions: async_sessionmaker[AsyncSession]) -> bool:
    return (await statuses(sessions)) == {"sent": 1}


@pytest.mark.pg
async def test_four_workers_send_every_notification_exactly_once(
    db_url: str,
    sessions: async_sessionmaker[AsyncSession],
    receiver: HttpReceiver,
    worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL's row locks")
    await seed(sessions, receiver.url, students=500)
    for _ in range(4):
        worker()

    async def all_sent() -> bool:
        return (await statuses(sessions)).get("sent", 0) == 500

    await wait_for(all_sent, limit=120)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 500
    assert len(set(ids)) == 500  # no two workers sent the same row
    async with sessions() as session:
        per_case = (
            await session.execute(
                select(CaseEvent.case_id, func.count())
                .where(CaseEvent.action == "opened")
                .group_by(CaseEvent.case_id)
            )
        ).all()
        handled = await session.scalar(
            select(func.count()).select_from(CaseRequest).where(CaseRequest.handled_at.is_not(None))
        )
    assert len(per_case) == 500
    assert {count for _, count in per_case} == {1}
    assert handled == 500
