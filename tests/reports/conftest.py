"""A small invented district (bench/report_district.py) on each database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report_district import Shape, build

# Monday 2026-12-07 00:00 in Shanghai: the district's history ends with week 2026-W49.
END = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
SHAPE = Shape(schools=3, students=600, weeks=6, seed=11)


@pytest.fixture
async def district(engine: AsyncEngine) -> AsyncEngine:
    """The database, filled with a small district's six weeks."""
    await build(engine, SHAPE, end=END)
    return engine
