"""Retention that happens: erased students' safety records go when the settings say, audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.cli.main import main
from bot.config.settings import load_settings
from bot.scheduler import RETENTION_JOB
from bot.services.retention import RetentionJob, sweep
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import AuditEvent, Case, CaseEvent, CaseRequest, RiskAssessmentRecord, Student

NOW = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=1200)  # past the default 1,095 days
RECENT = NOW - timedelta(days=30)
Capture = pytest.CaptureFixture[str]


def assessment(student: Student, level: str, at: datetime) -> RiskAssessmentRecord:
    return RiskAssessmentRecord(
        student_id=student.id,
        level=level,
        categories=[],
        evidence=[],
        explanation="",
        detector_version="t",
        created_at=at,
    )


def case(student: Student, status: str, at: datetime) -> Case:
    closed = at if status == "resolved" else None
    return Case(
        student_id=student.id,
        priority="urgent",
        status=status,
        reason="risk_high",
        categories=[],
        chain={},
        created_at=at,
        updated_at=at,
        closed_at=closed,
    )


async def seed(sessions: async_sessionmaker[AsyncSession], now: datetime = NOW) -> dict[str, int]:
    old, recent = now - (NOW - OLD), now - (NOW - RECENT)
    async with sessions.begin() as session:
        gone = Student(display_name="匿名同学", status="deleted", created_at=old)
        busy = Student(display_name="匿名同学", status="deleted", created_at=old)
        active = Student(display_name="在读", status="active", created_at=old)
        session.add_all([gone, busy, active])
        await session.flush()
        old_high = assessment(gone, "high", old)
        session.add_all(
            [
                old_high,
                assessment(gone, "none", recent),  # an everyday verdict: goes at once
                assessment(busy, "high", recent),  # a recent safety record: stays
                assessment(active, "high", old),  # not erased: stays
            ]
        )
        await session.flush()
        session.add(
            CaseRequest(
                student_id=gone.id,
                priority="urgent",
                reason="risk_high",
                categories=[],
                details={},
                assessment_id=old_high.id,
                created_at=old,
                handled_at=old,
            )
        )
        closed = case(gone, "resolved", old)
        session.add_all([closed, case(busy, "open", old)])
        await session.flush()
        session.add(CaseEvent(case_id=closed.id, at=old, actor="system", action="opened"))
    return {"gone": gone.id, "busy": busy.id, "active": active.id}


async def counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        out = {}
        for model in (RiskAssessmentRecord, CaseRequest, Case, CaseEvent, Student):
            out[model.__name__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
        return out


EXPECTED = {
    "everyday_assessments": 1,
    "safety_assessments": 1,
    "case_requests": 1,
    "cases": 1,
    "students": 1,
}


async def test_a_dry_run_counts_exactly_what_a_run_deletes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed(sessions)
    before = await counts(sessions)
    async with sessions.begin() as session:
        dry = await sweep(session, now=NOW, retention_days=1095, dry_run=True)
    assert dry.counts == EXPECTED
    assert await counts(sessions) == before
    report = await RetentionJob(sessions, 1095).run(NOW)
    assert report is not None
    assert report.counts == EXPECTED
    assert await counts(sessions) == {
        "RiskAssessmentRecord": 2,
        "CaseRequest": 0,
        "Case": 1,  # the open case stays, whatever its age
        "CaseEvent": 0,
        "Student": 2,
    }
    async with sessions() as session:
        assert await session.get(Student, ids["gone"]) is None
        assert await session.get(Student, ids["busy"]) is not None
        runs = (
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.subject_type == "retention")
            )
        ).all()
    assert sorted(runs) == ["retention_dry_run", "retention_run"]
    again = await RetentionJob(sessions, 1095).run(NOW)
    assert again is not None
    assert again.total == 0


async def test_nothing_goes_before_its_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    async with sessions.begin() as session:
        report = await sweep(session, now=NOW, retention_days=5000, dry_run=False)
    assert report.counts["safety_assessments"] == 0
    assert report.counts["cases"] == 0
    assert report.counts["everyday_assessments"] == 1


async def test_run_and_worker_schedule_it_daily(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    engine = next(iter([sessions.kw["bind"]]))
    runtime = build_runtime(
        AppContext(load_settings(None, {}), engine, sessions, cipher), plugs={"telegram": None}
    )
    runtime.scheduler.start()
    try:
        job = runtime.scheduler.scheduler.get_job(RETENTION_JOB)
        assert job is not None
        assert job.trigger.interval == timedelta(days=1)
    finally:
        runtime.scheduler.stop()
        await runtime.aclose()


def test_the_command_shows_counts_and_changes_nothing_when_dry(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    async def prepare() -> None:
        engine = create_engine(db_url)
        try:
            await seed(session_factory(engine), datetime.now(UTC))
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    assert main(["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete 1 closed case(s) past retention" in out
    assert "nothing changed" in out
    assert main(["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 erased anonymous student record(s)" in out
    assert main(["retention", "run", "--dry-run"]) == 0
    assert "ok: would delete 0 record(s)" in capsys.readouterr().out
