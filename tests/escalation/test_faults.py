"""A read-only database is named as such, in one line: by the CLI's error funnel and by the
engine, which logs one line per failing tick instead of a traceback each time.
Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from green_world import T0, build_world, read_only
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.main import main
from storage.db import create_engine, is_sqlite, session_factory
from storage.faults import describe


async def _database_read_only(url: str, on: bool) -> None:
    engine = create_engine(url)
    name = make_url(url).database
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SET default_transaction_read_only = off"))
            value = "on" if on else "off"
            await conn.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
            )
    finally:
        await engine.dispose()


@contextmanager
def read_only_url(url: str) -> Iterator[str]:
    """The database, read-only for every new connection (a remounted disk, a replica)."""
    if is_sqlite(url):
        yield f"sqlite:///file:{make_url(url).database}?mode=ro&uri=true"
        return
    asyncio.run(_database_read_only(url, True))
    try:
        yield url
    finally:
        asyncio.run(_database_read_only(url, False))


def test_the_cli_names_a_read_only_database_in_one_line(
    cli_env: Path, db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with read_only_url(db_url) as url:
        monkeypatch.setenv("HEARTGUARD_DATABASE_URL", url)
        assert main(["schools", "add", "BB01", "示例中学"]) == 1
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith("heartguard:")]
    assert len(ours) == 1
    assert ours[0].startswith("heartguard: error: the database is read-only (")
    assert "internal error" not in err


@asynccontextmanager
async def sessions_on(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = read_only(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def test_the_engine_logs_one_line_per_failing_tick(
    db_url: str, sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    world = await build_world(sessions)
    await world.request(world.student, "emergency", T0)
    async with sessions_on(db_url) as stuck:
        engine = world.new_engine()
        engine.intake.sessions = stuck
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                report = await engine.tick(T0)
                assert report.errors == ["intake: the database is read-only"]
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r.getMessage() for r in failures] == [
            "green-channel tick failed: intake: the database is read-only"
        ] * 3
        assert all(r.exc_info is None for r in failures)  # a database fault: no traceback
    engine.intake.sessions = sessions
    assert (await engine.tick(T0)).errors == []
    assert engine.last_errors == ()


def test_database_faults_are_told_apart_from_bugs() -> None:
    import sqlite3

    assert describe(sqlite3.OperationalError("database or disk is full")) == (
        "the disk holding the database is full"
    )
    assert describe(ConnectionRefusedError(111, "refused")) == "cannot reach the database"
    assert describe(ValueError("a bug")) is None
    assert describe(KeyError("Mars/Olympus")) is None
