"""One bad case never holds up the others, and the auditor tells the truth about it.

A school with a time zone no computer knows, a request whose data this code cannot read, a
database that turned read-only: each is put beside healthy cases on real SQLite and
PostgreSQL, with the clock moved by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from green_world import T0, World, build_world, events, read_only
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.auditor import Auditor
from escalation.retries import ALARM_AFTER
from storage.db import session_factory
from storage.models import Case, CaseRequest, School, Student

if TYPE_CHECKING:
    from conftest import HttpReceiver  # the notifier tests' receiver, in this folder

SEC = timedelta(seconds=1)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessions)


async def add_students(world: World, school_id: int, count: int) -> list[int]:
    async with world.sessions.begin() as session:
        students = [
            Student(school_id=school_id, display_name=f"同学{n}", status="active", created_at=T0)
            for n in range(count)
        ]
        session.add_all(students)
        await session.flush()
        return [s.id for s in students]


async def poisoned_school(world: World) -> int:
    """A school whose time zone no longer exists (typed by hand, or dropped from tzdata)."""
    async with world.sessions.begin() as session:
        school = School(code="S3", name="第三示例中学", timezone="Mars/Olympus", created_at=T0)
        session.add(school)
        await session.flush()
        return school.id


async def case_of(world: World, student: int) -> Case:
    async with world.sessions() as session:
        case = await session.scalar(select(Case).where(Case.student_id == student))
    assert case is not None
    return case


async def test_a_case_whose_step_fails_is_set_aside_and_the_others_are_paged_on_the_same_tick(
    world: World,
) -> None:
    poisoned = (await add_students(world, await poisoned_school(world), 1))[0]
    healthy = await add_students(world, world.school1, 3)
    # The poisoned request comes first, so it is the first case the tick meets.
    for student in (poisoned, *healthy, world.anonymous):
        await world.request(student, "urgent", T0)
    report = await world.engine.tick(T0)
    assert (report.requests, report.steps, report.failed_steps) == (5, 4, 1)
    assert report.errors == []
    assert [a.recipient_name for a in world.tg.sent].count("甲老师") == 3
    assert [a.recipient_name for a in world.tg.sent].count("区危机组") == 1  # the anonymous one
    case = await case_of(world, poisoned)
    assert await events(world.sessions, case.id) == ["opened", "step_failed"]
    assert case.step_failures == 1
    assert case.next_step_at == T0 + 15 * SEC  # pushed back a little, not retried at once
    await world.engine.tick(T0 + 5 * SEC)
    assert (await case_of(world, poisoned)).step_failures == 1  # not yet due again

    # The healthy cases are on their ordinary timers; only the poisoned one is reported.
    audit = await world.auditor.audit(T0 + 5 * SEC)
    assert (audit.overdue_cases, audit.failing_cases) == ([], [])


async def test_the_auditor_raises_a_case_whose_steps_keep_failing(world: World) -> None:
    poisoned = (await add_students(world, await poisoned_school(world), 1))[0]
    await world.request(poisoned, "emergency", T0)
    for seconds in (0, 15, 45):
        await world.engine.tick(T0 + seconds * SEC)
    case = await case_of(world, poisoned)
    assert case.step_failures == ALARM_AFTER
    audit = await world.auditor.audit(T0 + 50 * SEC)
    assert audit.failing_cases == [case.id]
    assert audit.raised == 1
    assert not audit.healthy
    await world.engine.tick(T0 + 50 * SEC)
    # The district team is paged for it although the school's own step cannot run.
    assert [a.recipient_name for a in world.tg.sent if a.case_id == case.id] == ["区危机组"]
    assert (await events(world.sessions, case.id)).count("step_failed") == ALARM_AFTER

    # An administrator fixes the school: the next step runs and the count starts again.
    async with world.sessions.begin() as session:
        await session.execute(update(School).values(timezone="Asia/Shanghai"))
    await world.engine.tick(T0 + 110 * SEC)
    case = await case_of(world, poisoned)
    assert case.step_failures == 0
    assert (await events(world.sessions, case.id))[-1] in ("notified", "nobody_on_duty")
    assert (await world.auditor.audit(T0 + 111 * SEC)).failing_cases == []


async def test_a_request_that_cannot_be_taken_in_waits_alone_and_the_auditor_reports_it(
    world: World,
) -> None:
    healthy = await add_students(world, world.school1, 2)
    async with world.sessions.begin() as session:
        # Data this code cannot read: a number where a list of categories belongs.
        poison = CaseRequest(
            student_id=world.student,
            priority="emergency",
            reason="risk_imminent",
            categories=5,
            details={},
            created_at=T0,
        )
        session.add(poison)
        await session.flush()
        poison_id = poison.id
    for student in healthy:
        await world.request(student, "urgent", T0)
    report = await world.engine.tick(T0)
    assert (report.requests, report.failed_requests, report.errors) == (2, 1, [])
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "甲老师"]
    async with world.sessions() as session:
        row = await session.get(CaseRequest, poison_id)
    assert row is not None
    assert (row.handled_at, row.attempts, row.last_error) == (None, 1, "TypeError")
    assert row.retry_at == T0 + 15 * SEC
    # Tried once per pass, then only after its pause: no tight loop.
    assert (await world.engine.tick(T0 + 5 * SEC)).failed_requests == 0
    assert (await world.engine.tick(T0 + 15 * SEC)).failed_requests == 1
    audit = await world.auditor.audit(T0 + 10 * SEC)
    assert audit.overdue_requests == []  # a tick and the grace have not passed yet
    late = await world.auditor.audit(T0 + 3 * 60 * SEC)
    assert late.overdue_requests == [poison_id]
    assert not late.healthy


@pytest.fixture
async def read_only_sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = read_only(db_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_a_heartbeat_is_never_pinged_while_intake_fails(
    world: World,
    read_only_sessions: async_sessionmaker[AsyncSession],
    receiver: HttpReceiver,
) -> None:
    stuck = world.new_engine()
    stuck.intake.sessions = read_only_sessions
    auditor = Auditor(
        read_only_sessions,  # reads work: only writes fail
        grace=timedelta(minutes=2),
        heartbeat_url=receiver.url + "/ping",
        tick_errors=lambda: stuck.last_errors,
    )
    assert (await auditor.audit(T0)).heartbeat  # healthy at first: the ping goes out
    pings = len(receiver.requests)
    await world.request(world.student, "emergency", T0)
    report = await stuck.tick(T0)
    assert report.errors == ["intake: the database is read-only"]
    audit = await auditor.audit(T0 + 10 * SEC)
    assert audit.tick_errors == ["intake: the database is read-only"]
    assert not audit.healthy
    assert not audit.heartbeat
    # Another process's auditor, whose own ticks are fine, still sees the waiting request.
    other = Auditor(read_only_sessions, grace=timedelta(minutes=2))
    assert (await other.audit(T0 + 3 * 60 * SEC)).overdue_requests != []
    assert len(receiver.requests) == pings
    # The disk is writable again: the next tick succeeds and the heartbeat comes back.
    stuck.intake.sessions = world.sessions
    assert (await stuck.tick(T0 + 4 * 60 * SEC)).errors == []
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "区危机组"]
    assert (await auditor.audit(T0 + 4 * 60 * SEC)).heartbeat
    assert len(receiver.requests) == pings + 1
