"""Migration 0009 puts PHQ-A answers stored in PHQ-A order back in PHQ-9 order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import CheckinResult, Student

AT = datetime(2026, 3, 6, 8, 0, tzinfo=UTC)


async def test_phq_a_rows_are_reordered_and_adult_rows_kept(tmp_path: Path) -> None:
    engine: AsyncEngine = create_engine(f"sqlite:///{tmp_path}/m.db")
    try:
        before = "0008"  # the revision just before 0009, which changes data only
        await upgrade(engine, before)
        async with session_factory(engine).begin() as session:
            for student, birth_year in ((1, 2011), (2, 2000), (3, None)):
                session.add(
                    Student(id=student, display_name="x", birth_year=birth_year, created_at=AT)
                )
                await session.flush()
                for instrument, answers in (
                    ("phq9", [3, 1, 0, 2, 0, 0, 0, 0, 1]),
                    ("phq2", [3, 1]),
                    ("gad7", [3, 1, 0, 2, 0, 0, 0]),
                ):
                    session.add(
                        CheckinResult(
                            student_id=student,
                            instrument=instrument,
                            answers=answers,
                            score=7,
                            band="mild",
                            created_at=AT,
                        )
                    )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        CheckinResult.student_id, CheckinResult.instrument, CheckinResult.answers
                    )
                )
            ).all()
        found = {(s, i): a for s, i, a in rows}
        # A 14-year-old and a student of unknown age were asked the PHQ-A: put back.
        for student in (1, 3):
            assert found[(student, "phq9")] == [1, 3, 0, 0, 2, 0, 0, 0, 1]
            assert found[(student, "phq2")] == [1, 3]
            assert found[(student, "gad7")] == [3, 1, 0, 2, 0, 0, 0]  # not a PHQ form
        # An adult was asked the PHQ-9 in its own order: untouched.
        assert found[(2, "phq9")] == [3, 1, 0, 2, 0, 0, 0, 0, 1]
    finally:
        await engine.dispose()
