"""Advancing escalation: each due case's step, isolated from the others.

Due cases are locked in chunks (``FOR UPDATE SKIP LOCKED``; SQLite has one writer anyway)
and checked to be still due; a chunk runs in one transaction (a commit per case made a burst
of 200 cases wait seconds for its first alerts). When a step fails, the chunk is rolled back
and run again with each step in its own savepoint, so a step that fails for its case (an
invalid school time zone, data this code cannot read) rolls back alone: the case gets a
``step_failed`` event (the exception's type, never a message), its next step is pushed back
a short while, and its failure count rises for the auditor; the other cases go on. A fault
of the database itself stops the pass, since every case would fail the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import Policies, record
from escalation.coverage import usable
from escalation.outbox import enqueue
from escalation.policy import Chain, Position, advance, skip_to_next
from escalation.retries import retry_after
from escalation.roster import Recipient, ShiftSpec, recipients
from storage.faults import describe
from storage.models import Case, CaseEvent, School

if TYPE_CHECKING:
    from escalation.engine import TickReport

log = logging.getLogger(__name__)
BATCH = 500
# Cases per transaction: one commit for many steps (a burst of cases reaches its first alerts
# fast), each step in its own savepoint (one that fails rolls back alone).
CHUNK = 50
People = dict[tuple[str, int | None, str], list[Recipient]]


def due(now: datetime) -> Any:
    """Cases whose step is due: open past their step time, or acknowledged past expiry."""
    return or_(
        and_(Case.status == "open", Case.next_step_at <= now),
        and_(Case.status == "acknowledged", Case.ack_expires_at <= now),
    )


class Stepper:
    """Runs due escalation steps; one per process, owned by the engine."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policies: Policies,
        *,
        district_zone: str,
        shifts: Sequence[ShiftSpec],
        channels: Collection[str] | None = None,
    ) -> None:
        # Only recipients with a contact on one of these channels count (None: every one).
        self.channels = frozenset(channels) if channels is not None else None
        self.sessions = sessions
        self.policies = policies
        self.district_zone = district_zone
        self.shifts = tuple(shifts)
        # School time zones change rarely; a process caches them.
        self._zones: dict[int, str] = {}

    async def run(self, now: datetime, report: TickReport) -> None:
        """Advance up to a batch of due cases, a transaction per chunk.

        A chunk first runs in one flush (fast); only if a step in it fails is it rolled back
        and run again carefully, each step in its own savepoint.
        """
        async with self.sessions() as session:
            ids = (
                await session.scalars(
                    select(Case.id).where(due(now)).order_by(Case.next_step_at).limit(BATCH)
                )
            ).all()
        # Who is on duty does not change within one pass: look each tier up once.
        people: People = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            try:
                steps, queued, failed = await self._chunk(chunk, now, people, careful=False)
            except Exception as exc:
                if describe(exc) is not None:
                    raise  # the database itself: every case would fail the same way
                self._zones.clear()  # an administrator may be fixing the school right now
                steps, queued, failed = await self._chunk(chunk, now, people, careful=True)
            report.steps += steps
            report.queued += queued
            report.failed_steps += failed

    async def _chunk(
        self, ids: Sequence[int], now: datetime, people: People, *, careful: bool
    ) -> tuple[int, int, int]:
        """Steps, alerts queued and failed steps of one committed chunk."""
        steps = queued = failed = 0
        async with self.sessions() as session, session.begin():
            cases = (
                await session.scalars(
                    select(Case)
                    .where(Case.id.in_(ids), due(now))
                    .order_by(Case.next_step_at, Case.id)
                    .with_for_update(skip_locked=True)  # others: another worker has them
                )
            ).all()
            for case in cases:
                if not careful:
                    queued += await self._step(session, case, now, people)
                    steps += 1
                    continue
                ident, status = case.id, case.status
                try:
                    async with session.begin_nested():
                        count = await self._step(session, case, now, people)
                except Exception as exc:
                    if describe(exc) is not None:
                        raise
                    await self._failed(session, ident, status, exc, now)
                    failed += 1
                    continue
                queued += count
                steps += 1
            await session.flush()
        return steps, queued, failed

    async def _step(self, session: AsyncSession, case: Case, now: datetime, people: People) -> int:
        if case.status == "acknowledged":
            self._ack_expired(session, case, now)
        queued = await self._run_step(session, case, now, people)
        case.step_failures = 0
        return queued

    async def _failed(
        self, session: AsyncSession, ident: int, status: str, exc: Exception, now: datetime
    ) -> None:
        """Record the failure on the case and push its step back; ids and the type only.

        The case's row object was rolled back with its savepoint, so this writes by id.
        """
        failures = (
            await session.execute(
                update(Case)
                .where(Case.id == ident)
                .values(step_failures=Case.step_failures + 1)
                .returning(Case.step_failures)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        wait = retry_after(failures)
        later = {"ack_expires_at" if status == "acknowledged" else "next_step_at": now + wait}
        await session.execute(
            update(Case)
            .where(Case.id == ident)
            .values(later)
            .execution_options(synchronize_session=False)
        )
        session.add(
            CaseEvent(
                case_id=ident,
                at=now,
                actor="system",
                action="step_failed",
                details={"error": type(exc).__name__, "failures": failures},
            )
        )
        log.error(
            "case %s: escalation step failed (%s), %s time(s) in a row; retrying in %ss",
            ident,
            type(exc).__name__,
            failures,
            int(wait.total_seconds()),
        )

    def _ack_expired(self, session: AsyncSession, case: Case, now: datetime) -> None:
        """Acknowledged but nobody marked the student contacted in time: alert again."""
        log.warning("case %s: acknowledgement expired without contact; re-alerting", case.id)
        record(session, case, actor="system", action="ack_expired", now=now)
        case.status = "open"
        case.ack_expires_at = None
        case.step_index, case.round = 0, 0
        case.token += 1

    async def _run_step(
        self, session: AsyncSession, case: Case, now: datetime, cache: People
    ) -> int:
        try:
            chain = Chain.from_json(case.chain)
        except ValueError:
            log.error("case %s has a malformed chain snapshot; using the current policy", case.id)
            chain = self.policies.get(case.priority) or self.policies["urgent"]
            case.chain = chain.to_json()
        position: Position | None = Position(case.step_index, case.round)
        zone = await self._zone(session, case)
        skipped: list[str] = []
        while position is not None:
            step = advance(chain, position, now)
            queued = 0
            for tier in step.tiers:
                tier_zone = zone if tier == "school" else self.district_zone
                key = (tier, case.school_id if tier == "school" else None, tier_zone)
                if key not in cache:
                    found = await recipients(
                        session,
                        configured=self.shifts,
                        tier=tier,
                        school_id=case.school_id,
                        now=now,
                        zone=tier_zone,
                    )
                    # Only people with a contact on a channel this process can send count:
                    # an e-mail address without SMTP, or a bare phone number, reaches nobody,
                    # and the step goes on to the next tier at once instead of waiting.
                    cache[key] = (
                        usable(found, self.channels) if self.channels is not None else found
                    )
                people = cache[key]
                if not people:
                    skipped.append(tier)
                    continue
                suffix = f"r{position.round}s{position.step_index}"
                for person in people:
                    if (
                        await enqueue(
                            session,
                            case,
                            recipient=person,
                            tier=tier,
                            kind="alert",
                            now=now,
                            suffix=suffix,
                            # Under the case's row lock, with a new token/round/step in the
                            # key: it cannot exist yet, so skip the look-up.
                            fresh=True,
                        )
                        is not None
                    ):
                        queued += 1
            if queued or not skipped:
                record(
                    session,
                    case,
                    actor="system",
                    action="notified",
                    now=now,
                    tiers=list(step.tiers),
                    recipients=queued,
                    step=position.step_index,
                    round=position.round,
                )
                case.step_index = step.next_position.step_index
                case.round = step.next_position.round
                case.next_step_at = step.next_at
                if step.next_at is None:
                    record(session, case, actor="system", action="chain_exhausted", now=now)
                case.updated_at = now
                if skipped:
                    record(
                        session,
                        case,
                        actor="system",
                        action="nobody_on_duty",
                        now=now,
                        tiers=sorted(set(skipped)),
                    )
                return queued
            # Nobody on duty anywhere in this step: go straight to the next one.
            position = skip_to_next(chain, position)
        log.error("case %s: nobody on duty in any tier of its chain", case.id)
        record(
            session,
            case,
            actor="system",
            action="nobody_on_duty",
            now=now,
            tiers=sorted(set(skipped)),
            exhausted=True,
        )
        case.next_step_at = None
        case.updated_at = now
        return 0

    async def _zone(self, session: AsyncSession, case: Case) -> str:
        if case.school_id is None:
            return self.district_zone
        if case.school_id not in self._zones:
            school = await session.get(School, case.school_id)
            self._zones[case.school_id] = school.timezone if school else self.district_zone
        return self._zones[case.school_id]
