"""The schema comes from Alembic alone, is the same on both backends, and matches the models."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import current_revision, head_revision, schema_drift, upgrade
from storage.models import Base


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    assert await schema_drift(engine) == []


async def test_upgrade_twice_is_a_no_op(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def test_upgrade_creates_schema_in_an_empty_sqlite_file(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'sub' / 'new.db'}")
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await schema_drift(engine) == []
    finally:
        await engine.dispose()


async def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            foreign = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
        assert journal == "wal"
        assert foreign == 1
    finally:
        await engine.dispose()
