"""The weekly report's figures, checked against direct SQL on a generated district."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.settings import load_settings
from bot.services.reports.weekly import percentile
from bot.services.reports.weekly_reports import WeeklyReports
from bot.services.reports.weeks import Week
from escalation.actions import Actor
from storage.models import UTCDateTime
from tests.reports.conftest import END

NOW = END
SETTINGS = load_settings(None, {})


async def scalar_rows(engine: AsyncEngine, sql: str, week: Week, **extra: Any) -> list[Any]:
    statement = text(sql).bindparams(
        bindparam("a", type_=UTCDateTime()), bindparam("b", type_=UTCDateTime())
    )
    async with engine.connect() as conn:
        result = await conn.execute(statement, {"a": week.start, "b": week.end, **extra})
        return list(result.all())


INVITED = """
    SELECT s.grade, s.school_id, count(DISTINCT r.student_id) FROM reminder_deliveries r
    JOIN students s ON s.id = r.student_id
    WHERE r.kind = 'weekly' AND r.status = 'sent' AND r.sent_at >= :a AND r.sent_at < :b
    GROUP BY s.grade, s.school_id"""
STARTED = """
    SELECT s.grade, s.school_id, count(DISTINCT c.student_id) FROM checkin_starts c
    JOIN students s ON s.id = c.student_id
    WHERE c.created_at >= :a AND c.created_at < :b GROUP BY s.grade, s.school_id"""
COMPLETED = """
    SELECT s.grade, s.school_id, count(DISTINCT c.student_id) FROM checkin_results c
    JOIN students s ON s.id = c.student_id
    WHERE c.instrument = 'mood' AND c.created_at >= :a AND c.created_at < :b
    GROUP BY s.grade, s.school_id"""
BAND = """
    SELECT count(DISTINCT student_id) FROM checkin_results
    WHERE instrument = :instrument AND band = :band AND created_at >= :a AND created_at < :b"""
ASQ = """
    SELECT count(DISTINCT student_id) FROM checkin_results
    WHERE instrument = 'asq' AND band <> 'negative' AND created_at >= :a AND created_at < :b"""
PRIORITY = """
    SELECT priority, count(*) FROM cases WHERE created_at >= :a AND created_at < :b
    GROUP BY priority"""
ACKS = """
    SELECT c.id, c.created_at, min(e.at) FROM cases c JOIN case_events e ON e.case_id = c.id
    WHERE e.action = 'ack' AND c.created_at >= :a AND c.created_at < :b
    GROUP BY c.id, c.created_at"""
DEAD = """
    SELECT count(*) FROM notifications WHERE status IN ('failed', 'dead')
    AND created_at >= :a AND created_at < :b"""


def when(value: Any) -> datetime:
    """A timestamp from raw SQL: SQLite hands back text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value


def by(rows: list[Any], index: int) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for row in rows:
        out[row[index]] = out.get(row[index], 0) + row[-1]
    return out


async def test_district_figures_equal_direct_sql(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    report = await WeeklyReports(sessions, SETTINGS).build(
        school=None, week="2026-W49", actor=Actor.admin(), now=NOW
    )
    for tag, week in (
        ("this", Week.parse("2026-W49", "Asia/Shanghai")),
        ("last", Week.parse("2026-W48", "Asia/Shanghai")),
    ):
        for figure, sql in (("invited", INVITED), ("started", STARTED), ("completed", COMPLETED)):
            rows = await scalar_rows(district, sql, week)
            assert report.value(tag, figure) == sum(r[-1] for r in rows), (tag, figure)
            assert report.value(tag, figure) > 0
            for grade, count in by(rows, 0).items():
                shown = report.value(tag, figure, "grade", grade)
                assert shown in (count, None)
                if count < report.k:
                    assert shown is None
            for school, count in by(rows, 1).items():
                shown = report.value(tag, figure, "school", school)
                assert shown in (count, None)
        for band in ("mild", "moderate", "moderately_severe", "severe"):
            rows = await scalar_rows(district, BAND, week, instrument="phq9", band=band)
            assert report.value(tag, f"phq.{band}") == rows[0][0], band
        rows = await scalar_rows(district, BAND, week, instrument="phq2", band="negative")
        assert report.value(tag, "phq.negative_screen") == rows[0][0]
        rows = await scalar_rows(district, ASQ, week)
        assert report.value(tag, "asq.positive") == rows[0][0]
        priorities = dict(await scalar_rows(district, PRIORITY, week))
        for priority in ("routine", "urgent", "emergency"):
            assert report.value(tag, f"cases.{priority}") == priorities.get(priority, 0)
        minutes = [
            (when(first) - when(opened)).total_seconds() / 60
            for _, opened, first in await scalar_rows(district, ACKS, week)
        ]
        assert report.value(tag, "ack.done") == len(minutes)
        timing = report.timing[tag]
        assert timing.median == percentile(minutes, 0.5)
        assert timing.p90 == percentile(minutes, 0.9)
        if minutes:
            assert timing.median is not None
            assert (
                abs(timing.median - statistics.median_low(minutes)) < 1e-6 or len(minutes) % 2 == 0
            )
        dead = await scalar_rows(district, DEAD, week)
        assert report.value(tag, "failures.alerts") == dead[0][0]


async def test_school_report_keeps_to_its_school_and_hides_small_cells(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    report = await WeeklyReports(sessions, SETTINGS).build(
        school="R01", week="2026-W49", actor=Actor.admin(), now=NOW
    )
    week = Week.parse("2026-W49", "Asia/Shanghai")
    rows = [r for r in await scalar_rows(district, COMPLETED, week) if r[1] == 2]
    total = sum(r[-1] for r in rows)
    assert report.value("this", "completed") == total
    for grade, count in by(rows, 0).items():
        assert report.value("this", "completed", "grade", grade) in (count, None)
    for key, value in report.shown().items():
        assert value >= report.k, key
    assert report.hidden, "a school of 200 pupils has small cells to hide"


async def test_reports_follow_the_scope_and_every_look_is_audited(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy import select

    from escalation.actions import NotAllowedError
    from storage.models import AuditEvent

    reports = WeeklyReports(sessions, SETTINGS)
    await reports.build(school="R00", week="2026-W49", actor=Actor.counselor(1), now=NOW)
    with pytest.raises(NotAllowedError):
        await reports.build(school="R01", week="2026-W49", actor=Actor.counselor(1), now=NOW)
    with pytest.raises(NotAllowedError, match="district role"):
        await reports.build(school=None, week="2026-W49", actor=Actor.counselor(1), now=NOW)
    await reports.build(school=None, week="2026-W49", actor=Actor.counselor(4), now=NOW)
    async with sessions() as session:
        rows = (await session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.subject_id)
            .order_by(AuditEvent.id)
        )).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("counselor:1", "report_viewed", "school:1"),
        ("counselor:1", "refused", "school:2"),
        ("counselor:1", "refused", "district"),
        ("counselor:4", "report_viewed", "district"),
    ]
