"""Advancing escalation: each due case runs its next step in its own transaction.

A case is locked (``FOR UPDATE SKIP LOCKED``; SQLite has one writer anyway) and checked to
be still due, its step is run, and it commits alone. A step that fails for that case (an
invalid school time zone, data this code cannot read) rolls back alone: the case gets a
``step_failed`` event (the exception's type, never a message), its next step is pushed back
a short while, and its failure count rises for the auditor; the other cases go on. A fault of
the database itself stops the pass, since every case would fail the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import Policies, record
from escalation.outbox import enqueue
from escalation.policy import Chain, Position, advance, skip_to_next
from escalation.retries import retry_after
from escalation.roster import Recipient, ShiftSpec, recipients
from storage.faults import describe
from storage.models import Case, School

if TYPE_CHECKING:
    from escalation.engine import TickReport

log = logging.getLogger(__name__)
BATCH = 500
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
    ) -> None:
        self.sessions = sessions
        self.policies = policies
        self.district_zone = district_zone
        self.shifts = tuple(shifts)
        # School time zones change rarely; a process caches them.
        self._zones: dict[int, str] = {}

    async def run(self, now: datetime, report: TickReport) -> None:
        """Advance up to a batch of due cases, one transaction each."""
        async with self.sessions() as session:
            ids = (
                await session.scalars(
                    select(Case.id).where(due(now)).order_by(Case.next_step_at).limit(BATCH)
                )
            ).all()
        # Who is on duty does not change within one pass: look each tier up once.
        people: People = {}
        for ident in ids:
            try:
                async with self.sessions() as session, session.begin():
                    case = await session.scalar(
                        select(Case)
                        .where(Case.id == ident, due(now))
                        .with_for_update(skip_locked=True)
                    )
                    if case is None:
                        continue  # another worker has it, or took it already
                    if case.status == "acknowledged":
                        self._ack_expired(session, case, now)
                    queued = await self._run_step(session, case, now, people)
                    case.step_failures = 0
            except Exception as exc:
                if describe(exc) is not None:
                    raise
                self._zones.clear()  # an administrator may be fixing the school right now
                await self._failed(ident, exc, now)
                report.failed_steps += 1
                continue
            report.queued += queued
            report.steps += 1

    async def _failed(self, ident: int, exc: Exception, now: datetime) -> None:
        """Record the failure on the case and push its step back; ids and the type only."""
        async with self.sessions() as session, session.begin():
            case = await session.scalar(select(Case).where(Case.id == ident).with_for_update())
            if case is None:
                return
            case.step_failures += 1
            wait = retry_after(case.step_failures)
            if case.status == "acknowledged":
                case.ack_expires_at = now + wait
            else:
                case.next_step_at = now + wait
            record(
                session,
                case,
                actor="system",
                action="step_failed",
                now=now,
                error=type(exc).__name__,
                failures=case.step_failures,
            )
            failures = case.step_failures
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
                    cache[key] = await recipients(
                        session,
                        configured=self.shifts,
                        tier=tier,
                        school_id=case.school_id,
                        now=now,
                        zone=tier_zone,
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
