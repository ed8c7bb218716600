"""A small invented district (bench/report_district.py) on each database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report_district import Shape, build
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import AuditEvent, SafetyPlan

# Monday 2026-12-07 00:00 in Shanghai: the district's history ends with week 2026-W49.
END = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
SHAPE = Shape(schools=3, students=600, weeks=6, seed=11)


@pytest.fixture
async def district(engine: AsyncEngine) -> AsyncEngine:
    """The database, filled with a small district's six weeks."""
    await build(engine, SHAPE, end=END)
    return engine


async def _fill(url: str, cipher: DataCipher, plan: dict[str, str] | None) -> None:
    engine = create_engine(url)
    try:
        await build(engine, SHAPE, end=END)
        if plan is not None:
            async with session_factory(engine).begin() as session:
                session.add(
                    SafetyPlan(
                        student_id=1,
                        plan_enc=cipher.encrypt(json.dumps(plan, ensure_ascii=False)),
                        updated_at=END,
                    )
                )
    finally:
        await engine.dispose()


PLAN = {"warning_signs": "睡不着的时候", "people": "妈妈"}


@pytest.fixture
def district_url(db_url: str, cipher: DataCipher) -> str:
    """The same district for tests that run the command line (no event loop of their own)."""
    asyncio.run(_fill(db_url, cipher, PLAN))
    return db_url


async def _audit_rows(url: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            return [(e.actor, e.action, e.subject_id, e.details) for e in rows]
    finally:
        await engine.dispose()


def audit_rows(url: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every audit event: (actor, action, subject id, details), oldest first."""
    return asyncio.run(_audit_rows(url))
