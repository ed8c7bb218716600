"""Case intake: pending case requests become cases, a batch at a time, each in its savepoint.

A batch shares two queries (its students and their open cases) and one commit, but every
request is taken in inside its own savepoint. One that fails (a constraint, data this code
cannot read, a race with another worker opening the same student's case) is rolled back
alone, counted on the request, and retried after a short pause; the rest of the batch goes
on. A fault of the database itself (read-only, full, gone) stops the pass: every request
would fail the same way, and the tick reports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import Intake as Taken
from escalation.cases import Policies, take_in
from escalation.lifecycle import OPEN_STATUSES
from escalation.retries import retry_after
from storage.faults import describe
from storage.models import Case, CaseRequest, Student

if TYPE_CHECKING:
    from escalation.engine import TickReport

log = logging.getLogger(__name__)
# Requests per transaction. On SQLite a transaction runs on the loop's thread from start to
# commit: a batch of 500 (a district's missed check-ins on a Monday) held every student for
# 200 ms; 100 keeps a pass to tens of milliseconds, and a burst still goes in a pass or two.
BATCH = 100


@dataclass
class TickCounts:
    """One pass's outcome, added to the tick's report (and logged) only once it commits."""

    requests: int = 0
    failed: int = 0
    lines: list[tuple[int, int, str, str]] = field(default_factory=list)

    def took(self, request: CaseRequest, intake: Taken) -> None:
        self.requests += 1
        what = "opened" if intake.opened else "raised" if intake.raised else "attached"
        self.lines.append((request.id, request.student_id, what, intake.case.priority))


class Intake:
    """Takes pending case requests in; one per process, owned by the engine."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], policies: Policies) -> None:
        self.sessions = sessions
        self.policies = policies
        # The batch's students, held while their intake runs: the identity map keeps rows
        # weakly, and take_in looks each student up.
        self._students: list[Student] = []

    async def run(self, now: datetime, report: TickReport) -> None:
        """Take in every request due now, a batch per transaction.

        A batch first goes in one flush (fast: a burst of requests reaches its cases at
        once); only if something in it fails is it rolled back and taken in again carefully,
        each request in its own savepoint.
        """
        while True:
            counts = TickCounts()
            try:
                taken = await self._pass(now, counts, careful=False)
            except Exception as exc:
                if describe(exc) is not None:
                    raise
                counts = TickCounts()
                taken = await self._pass(now, counts, careful=True)
            report.requests += counts.requests
            report.failed_requests += counts.failed
            for line in counts.lines:
                log.info("request %s for student %s: case %s (priority %s)", *line)
            self._students = []
            if taken < BATCH:
                return
            await asyncio.sleep(0)  # waiting messages go between batches

    async def _pass(self, now: datetime, counts: TickCounts, *, careful: bool) -> int:
        async with self.sessions() as session, session.begin():
            pending = (
                await session.scalars(
                    select(CaseRequest)
                    .where(
                        CaseRequest.handled_at.is_(None),
                        or_(CaseRequest.retry_at.is_(None), CaseRequest.retry_at <= now),
                    )
                    .order_by(CaseRequest.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            known = await self._open_cases(session, pending)
            if careful:
                await self._carefully(session, pending, known, now, counts)
            else:
                for request in pending:
                    intake = await take_in(session, request, self.policies, now, known_open=known)
                    counts.took(request, intake)
                await session.flush()
        return len(pending)

    async def _carefully(
        self,
        session: AsyncSession,
        pending: Sequence[CaseRequest],
        known: dict[int, Case],
        now: datetime,
        counts: TickCounts,
    ) -> None:
        # A student whose request failed keeps their later requests for the next pass, so
        # requests are still taken in in order.
        held: set[int] = set()
        for request in pending:
            ident, student_id = request.id, request.student_id
            if student_id in held:
                continue
            try:
                async with session.begin_nested():
                    intake = await take_in(session, request, self.policies, now, known_open=known)
            except Exception as exc:
                if describe(exc) is not None:
                    raise
                held.add(student_id)
                known.pop(student_id, None)  # rolled back: reload it next pass
                await self._failed(session, ident, student_id, exc, now)
                counts.failed += 1
                continue
            counts.took(request, intake)

    async def _open_cases(
        self, session: AsyncSession, pending: Sequence[CaseRequest]
    ) -> dict[int, Case]:
        """The batch's students and their open cases, two queries for the whole batch."""
        ids = {r.student_id for r in pending}
        if not ids:
            return {}
        self._students = list(
            (await session.scalars(select(Student).where(Student.id.in_(ids)))).all()
        )
        cases = (
            await session.scalars(
                select(Case)
                .where(Case.student_id.in_(ids), Case.status.in_(OPEN_STATUSES))
                .with_for_update()
            )
        ).all()
        return {case.student_id: case for case in cases}

    async def _failed(
        self,
        session: AsyncSession,
        ident: int,
        student_id: int,
        exc: Exception,
        now: datetime,
    ) -> None:
        """Count the failure on the request and push it back; ids and the type only."""
        attempts = (
            await session.execute(
                update(CaseRequest)
                .where(CaseRequest.id == ident)
                .values(attempts=CaseRequest.attempts + 1, last_error=type(exc).__name__[:64])
                .returning(CaseRequest.attempts)
            )
        ).scalar_one()
        wait = retry_after(attempts)
        await session.execute(
            update(CaseRequest).where(CaseRequest.id == ident).values(retry_at=now + wait)
        )
        log.error(
            "case request %s (student %s): intake failed (%s), %s time(s); retrying in %ss",
            ident,
            student_id,
            type(exc).__name__,
            attempts,
            int(wait.total_seconds()),
        )
