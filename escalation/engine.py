"""The green-channel engine: one idempotent tick that takes in case requests, advances due
escalation steps, and dispatches due notifications.

The database is the engine's whole memory. A tick can crash anywhere and the next one (in
this process or another) picks up where it stopped: requests not yet marked handled are
taken in again (the one-open-case index stops duplicates), a step is guarded by the case's
token, and notifications are claimed with leases.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import Policies, record, take_in
from escalation.coverage import usable
from escalation.dispatch import Dispatcher
from escalation.lifecycle import OPEN_STATUSES
from escalation.notifiers.base import Notifier
from escalation.outbox import LEASE, enqueue
from escalation.policy import Chain, Position, advance, skip_to_next
from escalation.roster import Recipient, ShiftSpec, recipients
from storage.crypto import DataCipher
from storage.models import Case, CaseRequest, School, Student

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class TickReport:
    """What one tick did, for logs, tests and benchmarks."""

    requests: int = 0
    steps: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class EscalationEngine:
    """Owns the tick; wire one per process (bot or worker)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policies: Policies,
        notifiers: Mapping[str, Notifier],
        *,
        cipher: DataCipher | None = None,
        district_zone: str = "Asia/Shanghai",
        quote_chars: int = 0,
        concurrency: int = 16,
        lease: timedelta = LEASE,
        shifts: Sequence[ShiftSpec] = (),
    ) -> None:
        self.shifts = tuple(shifts)
        # School time zones change rarely; a process caches them. The batch's students are
        # held here while their intake runs (see _open_cases).
        self._zones: dict[int, str] = {}
        self._students: list[Student] = []
        self.sessions = sessions
        self.policies = policies
        self.district_zone = district_zone
        self.dispatcher = Dispatcher(
            sessions,
            notifiers,
            cipher=cipher,
            quote_chars=quote_chars,
            concurrency=concurrency,
            lease=lease,
        )

    async def tick(self, now: datetime) -> TickReport:
        """One pass. Never raises: a failing phase is logged and the next phase still runs."""
        report = TickReport()
        for phase in (self._intake, self._advance):
            try:
                await phase(now, report)
            except Exception as exc:  # the loop must survive anything one phase does
                log.exception("escalation phase %s failed", phase.__name__)
                report.errors.append(f"{phase.__name__}: {type(exc).__name__}")
        try:
            await self.dispatcher.dispatch(now, report)
        except Exception as exc:
            log.exception("escalation dispatch failed")
            report.errors.append(f"dispatch: {type(exc).__name__}")
        return report

    async def _intake(self, now: datetime, report: TickReport) -> None:
        while True:
            async with self.sessions() as session:
                try:
                    async with session.begin():
                        pending = (
                            await session.scalars(
                                select(CaseRequest)
                                .where(CaseRequest.handled_at.is_(None))
                                .order_by(CaseRequest.id)
                                .limit(BATCH)
                                .with_for_update(skip_locked=True)
                            )
                        ).all()
                        known = await self._open_cases(session, pending)
                        for request in pending:
                            intake = await take_in(
                                session, request, self.policies, now, known_open=known
                            )
                            log.info(
                                "request %s for student %s: case %s (priority %s)",
                                request.id,
                                request.student_id,
                                "opened"
                                if intake.opened
                                else "raised"
                                if intake.raised
                                else "attached",
                                intake.case.priority,
                            )
                        report.requests += len(pending)
                except IntegrityError:
                    # Another worker opened the same student's case a moment ago; next pass
                    # attaches instead.
                    log.info("case intake raced another worker; retrying")
                    continue
            if len(pending) < BATCH:
                return

    async def _open_cases(
        self, session: AsyncSession, pending: Sequence[CaseRequest]
    ) -> dict[int, Case]:
        """The batch's students and their open cases, two queries for the whole batch."""
        ids = {r.student_id for r in pending}
        if not ids:
            return {}
        # Keep a reference: the identity map holds rows weakly, and take_in looks them up.
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

    async def _advance(self, now: datetime, report: TickReport) -> None:
        async with self.sessions() as session, session.begin():
            due = (
                await session.scalars(
                    select(Case)
                    .where(
                        or_(
                            and_(Case.status == "open", Case.next_step_at <= now),
                            and_(Case.status == "acknowledged", Case.ack_expires_at <= now),
                        )
                    )
                    .order_by(Case.next_step_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            # Who is on duty does not change within one pass: look each tier up once.
            people: dict[tuple[str, int | None, str], list[Recipient]] = {}
            for case in due:
                if case.status == "acknowledged":
                    self._ack_expired(session, case, now)
                report.queued += await self._run_step(session, case, now, people)
                report.steps += 1

    def _ack_expired(self, session: AsyncSession, case: Case, now: datetime) -> None:
        """Acknowledged but nobody marked the student contacted in time: alert again."""
        log.warning("case %s: acknowledgement expired without contact; re-alerting", case.id)
        record(session, case, actor="system", action="ack_expired", now=now)
        case.status = "open"
        case.ack_expires_at = None
        case.step_index, case.round = 0, 0
        case.token += 1

    async def _run_step(
        self,
        session: AsyncSession,
        case: Case,
        now: datetime,
        cache: dict[tuple[str, int | None, str], list[Recipient]],
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
                    # Only people with a contact on a channel this process can send count:
                    # an e-mail address without SMTP, or a bare phone number, reaches nobody,
                    # and the step goes on to the next tier at once instead of waiting.
                    cache[key] = usable(
                        await recipients(
                            session,
                            configured=self.shifts,
                            tier=tier,
                            school_id=case.school_id,
                            now=now,
                            zone=tier_zone,
                        ),
                        self.dispatcher.notifiers,
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
