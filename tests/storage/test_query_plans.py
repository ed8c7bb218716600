"""The hot queries stay on their indexes, on SQLite and PostgreSQL (issue 16).

Each test runs the real code (a message's detector window, a reminder tick, an audit), records
the statements it sent, and asks the database how it would run the one that matters: on the
index made for it, without a sort. On PostgreSQL sequential scans are switched off for the
question (the test tables are nearly empty, where a scan is cheapest), so the answer says
which index fits the query; the window is also asked for the generic prepared plan, the one
a prepared statement uses after a few runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.settings import load_settings
from bot.services.reminders import ReminderRunner
from bot.services.render import Renderer
from escalation.auditor import Auditor
from flows import load_catalog
from storage.models import Case, CaseEvent, ChannelIdentity, ReminderDelivery, Student

NOW = datetime(2026, 11, 6, 8, 31, tzinfo=UTC)


class NoPort:
    """Reminders are planned and claimed; nothing needs sending here."""

    channel = "telegram"

    async def deliver(self, *_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("nothing is due in these tests")


@contextmanager
def recorded(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends meanwhile."""
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
        seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)


def one(seen: list[tuple[str, Any]], *fragments: str) -> tuple[str, Any]:
    """The statement that contains every fragment."""
    found = [s for s in seen if all(f in s[0] for f in fragments)]
    assert found, f"no statement with {fragments}"
    return found[0]


async def plan(engine: AsyncEngine, statement: str, params: Any, *, generic: bool = False) -> str:
    """How the database would run the statement, as one lowercase text."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)).all()
            return "\n".join(str(row[-1]) for row in rows).lower()
        await conn.exec_driver_sql("SET enable_seqscan = off")
        if generic:
            await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            await conn.exec_driver_sql(f"PREPARE hot AS {statement}")
            values = ", ".join(_literal(p) for p in params)
            rows = (await conn.exec_driver_sql(f"EXPLAIN EXECUTE hot({values})")).all()
        else:
            rows = (await conn.exec_driver_sql(f"EXPLAIN {statement}", params)).all()
        await conn.rollback()
        return "\n".join(str(row[0]) for row in rows).lower()


def _literal(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"'{value}'"


def uses(query_plan: str, index: str) -> bool:
    return index in query_plan


async def seed(sessions: async_sessionmaker[AsyncSession]) -> int:
    """One student with a closed case and two weekly reminders, in a school year of others.

    The others (a year of closed cases and reminders) give both planners statistics like a
    district's, where a nearly empty table would make any plan look cheapest.
    """
    count = 3000
    async with sessions.begin() as session:
        await session.execute(
            insert(Student),
            [
                {"display_name": f"s{n}", "status": "active", "created_at": NOW}
                for n in range(count)
            ],
        )
        await session.execute(
            insert(ChannelIdentity),
            [
                {
                    "student_id": n + 1,
                    "channel": "telegram",
                    "external_id": f"x{n}",
                    "created_at": NOW,
                }
                for n in range(count)
            ],
        )
        await session.execute(
            insert(Case),
            [
                {
                    "student_id": n + 1,
                    "priority": "urgent",
                    "status": "resolved",
                    "reason": "risk_high",
                    "categories": [],
                    "chain": {},
                    "closed_at": NOW - timedelta(hours=3 * n + 100),
                    "created_at": NOW - timedelta(hours=3 * n + 200),
                    "updated_at": NOW,
                }
                for n in range(count)
            ],
        )
        await session.execute(
            insert(CaseEvent),
            [
                {
                    "case_id": n % count + 1,
                    "at": NOW - timedelta(hours=n),
                    "actor": "system",
                    "action": ("opened", "notified", "viewed", "resolved")[n % 4],
                    "details": {},
                }
                for n in range(count * 4)
            ],
        )
        await session.execute(
            insert(ReminderDelivery),
            [
                {
                    "student_id": n % count + 1,
                    "kind": "weekly",
                    "slot": f"weekly:{n // count}",
                    "status": "sent",
                    "claimed_at": NOW - timedelta(weeks=20 - n // count),
                    "sent_at": NOW - timedelta(weeks=20 - n // count),
                }
                for n in range(count * 4)
            ],
        )
    async with sessions.begin() as session:
        student = Student(
            display_name="甲",
            status="active",
            onboarded=True,
            reminder_opt_in=True,
            created_at=NOW,
        )
        session.add(student)
        await session.flush()
        session.add(
            ChannelIdentity(
                student_id=student.id,
                channel="telegram",
                external_id="1",
                chat_id="1",
                created_at=NOW,
            )
        )
        session.add(
            Case(
                student_id=student.id,
                priority="urgent",
                status="resolved",
                reason="risk_high",
                categories=[],
                chain={},
                closed_at=NOW - timedelta(days=1, hours=1),
                created_at=NOW - timedelta(days=2),
                updated_at=NOW,
            )
        )
        for week in (44, 45):
            session.add(
                ReminderDelivery(
                    student_id=student.id,
                    kind="weekly",
                    slot=f"weekly:2026-W{week}",
                    status="sent",
                    claimed_at=NOW - timedelta(weeks=46 - week),
                    sent_at=NOW - timedelta(weeks=46 - week),
                )
            )
        await session.flush()
        sid = student.id
    async with sessions() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()
    return sid


async def test_reminder_planning_selects_what_is_due_through_its_indexes(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions)
    settings = load_settings(None, {})
    runner = ReminderRunner(sessions, settings, Renderer(load_catalog(), settings), NoPort())
    with recorded(engine) as seen:
        # Wednesday: no weekly slot, no nudge, no caring contact due; every query still runs.
        async with runner.readers() as session:
            await runner.plan_weekly(session, NOW - timedelta(days=2))
            await runner._plan_nudges(session, NOW)
            await runner._plan_caring(session, NOW)
        await runner._missed_checkins(NOW)
        await runner._orphans(NOW)
    expected = {
        # Nudges page through weekly reminders sent a day ago.
        ("FROM reminder_deliveries", "ORDER BY reminder_deliveries.sent_at"): (
            "ix_reminder_deliveries_kind_status_sent"
        ),
        # Caring contacts: cases closed in the window, by status and closing time.
        ("FROM cases", "cases.closed_at <="): "ix_cases_status_closed_at",
        # Missed check-ins: one student's newest weekly reminders.
        ("SELECT DISTINCT cases.student_id",): "ix_reminder_deliveries_student_kind_status_sent",
        # Orphaned claims by age.
        ("UPDATE reminder_deliveries",): "ix_reminder_deliveries_status_claimed",
    }
    for fragments, index in expected.items():
        statement, params = one(seen, *fragments)
        query_plan = await plan(engine, statement, params)
        assert uses(query_plan, index), (fragments, query_plan)


async def test_the_auditor_finds_recent_unreachable_events_by_index(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions)
    with recorded(engine) as seen:
        await Auditor(sessions).audit(NOW)
    statement, params = one(seen, "FROM case_events")
    assert uses(await plan(engine, statement, params), "ix_case_events_action_at")
