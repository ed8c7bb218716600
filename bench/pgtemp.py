"""A throwaway PostgreSQL database for one benchmark run (shared by the bench scripts)."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine

PG_URL = os.environ.get(
    "HEARTGUARD_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def pg_database() -> str | None:
    """Create a fresh database and return its URL, or None (with a note) without a server."""
    name = f"hg_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server means "no PostgreSQL here"
        print(f"PostgreSQL: skipped ({type(exc).__name__})")
        return None
    finally:
        await engine.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def drop(url: str) -> None:
    """Drop a database made by pg_database."""
    engine = create_engine(PG_URL)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await engine.dispose()
