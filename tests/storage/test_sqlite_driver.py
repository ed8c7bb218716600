"""SQLite on the event loop's thread: statements run inline, lock waits never block the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.sqlite as inline
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import School

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def school(code: str) -> School:
    return School(code=code, name=f"学校{code}", timezone="Asia/Shanghai", created_at=T0)


@pytest.fixture
async def file_engine(tmp_path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    await upgrade(engine)
    return engine


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> threading.Thread:
    """Another writer (as another process would be) holding the write lock for a while."""

    def run() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_every_sqlite_url_spelling_gets_the_inline_driver(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path}/a.db", f"sqlite+aiosqlite:///{tmp_path}/b.db"):
        engine = create_engine(url)
        assert engine.dialect.driver == inline.DRIVER
        assert isinstance(engine.dialect, inline.InlineSQLiteDialect)


async def test_core_and_orm_statements_both_work(file_engine: AsyncEngine) -> None:
    try:
        async with file_engine.connect() as conn:
            assert (await conn.execute(text("SELECT 40 + 2"))).scalar() == 42
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        sessions = session_factory(file_engine)
        async with sessions.begin() as session:
            session.add(school("X1"))
        async with sessions() as session:
            assert await session.scalar(select(School.name)) == "学校X1"
    finally:
        await file_engine.dispose()


async def test_waiting_for_another_writer_lets_the_loop_run(
    file_engine: AsyncEngine, tmp_path: Path
) -> None:
    taken = threading.Event()
    holder = hold_write_lock(tmp_path / "lock.db", 0.4, taken)
    ticks = 0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(heartbeat())
    try:
        assert await asyncio.to_thread(taken.wait, 5)
        started = time.monotonic()
        async with session_factory(file_engine).begin() as session:
            session.add(school("X2"))
        waited = time.monotonic() - started
    finally:
        stop.set()
        await beat
        await asyncio.to_thread(holder.join)
        await file_engine.dispose()
    assert waited > 0.1  # it did wait for the other writer …
    assert ticks >= 10  # … while the loop kept running other tasks


async def test_a_lock_never_released_fails_after_the_wait(
    file_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline, "LOCK_WAIT", 0.2)
    taken = threading.Event()
    holder = hold_write_lock(tmp_path / "lock.db", 1.0, taken)
    try:
        assert await asyncio.to_thread(taken.wait, 5)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with session_factory(file_engine).begin() as session:
                session.add(school("X3"))
    finally:
        await asyncio.to_thread(holder.join)
    # Nothing was half-done, and the next transaction goes through.
    async with session_factory(file_engine).begin() as session:
        session.add(school("X3"))
    async with session_factory(file_engine)() as session:
        assert await session.scalar(select(School.code)) == "X3"
    await file_engine.dispose()


def test_begin_immediate_restores_the_busy_timeout(tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    raw.execute(f"PRAGMA busy_timeout={inline.BUSY_TIMEOUT_MS}")
    inline.begin_immediate(raw, wait=0.1)  # outside a greenlet: it may only sleep
    assert raw.in_transaction
    raw.execute("COMMIT")
    assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == inline.BUSY_TIMEOUT_MS
    raw.close()
