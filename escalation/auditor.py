"""The auditor: a periodic check that nothing urgent is overdue and nothing is stuck.

It logs problems loudly with ids, raises overdue urgent and emergency cases (and cases whose
steps keep failing) to the district tier, and pings a dead-man's-switch heartbeat URL only
when everything is on time. "On time" includes intake: a case request still waiting after a
tick and the grace means intake is failing (a read-only database, a full disk, a poisoned
request), and a tick that failed keeps the heartbeat silent until one succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import record
from escalation.coverage import usable
from escalation.lifecycle import OPEN_STATUSES
from escalation.outbox import enqueue
from escalation.retries import ALARM_AFTER
from escalation.roster import ShiftSpec, recipients
from storage.faults import describe
from storage.models import Case, CaseEvent, CaseRequest, Hospital, Notification

log = logging.getLogger(__name__)


@dataclass
class AuditReport:
    """Problems found in one audit."""

    overdue_cases: list[int] = field(default_factory=list)
    stuck_notifications: list[int] = field(default_factory=list)
    unreachable_cases: list[int] = field(default_factory=list)
    disabled_hospitals: list[int] = field(default_factory=list)
    overdue_requests: list[int] = field(default_factory=list)
    failing_cases: list[int] = field(default_factory=list)
    tick_errors: list[str] = field(default_factory=list)
    failed: bool = False  # the audit itself could not run
    raised: int = 0
    heartbeat: bool = False

    @property
    def healthy(self) -> bool:
        """True when nothing needs a human."""
        return not (
            self.overdue_cases
            or self.stuck_notifications
            or self.unreachable_cases
            or self.disabled_hospitals
            or self.overdue_requests
            or self.failing_cases
            or self.tick_errors
            or self.failed
        )


class Auditor:
    """Looks for overdue steps and stuck notifications; pings the heartbeat when healthy."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        grace: timedelta = timedelta(minutes=2),
        heartbeat_url: str = "",
        district_zone: str = "Asia/Shanghai",
        client: httpx.AsyncClient | None = None,
        shifts: Sequence[ShiftSpec] = (),
        channels: Collection[str] | None = None,
        tick: timedelta = timedelta(seconds=5),
        tick_errors: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        self.channels = channels
        self.shifts = tuple(shifts)
        self.tick = tick
        # The errors of this process's last engine tick (empty once one succeeds).
        self.tick_errors = tick_errors
        self.sessions = sessions
        self.grace = grace
        self.heartbeat_url = heartbeat_url
        self.district_zone = district_zone
        self.client = client

    async def audit(self, now: datetime) -> AuditReport:
        """One audit pass; never raises."""
        report = AuditReport()
        if self.tick_errors is not None:
            report.tick_errors = list(self.tick_errors())
            if report.tick_errors:
                log.error(
                    "AUDIT: the last green-channel tick failed: %s", "; ".join(report.tick_errors)
                )
        try:
            # Finding problems only reads, so it works on a read-only database too; raising
            # them (alerts to the district) writes, in a second transaction.
            async with self.sessions() as session:
                await self._overdue_requests(session, now, report)
                await self._overdue(session, now, report)
                await self._failing(session, now, report)
                await self._stuck(session, now, report)
                await self._unreachable(session, now, report)
                await self._disabled(session, report)
            if report.overdue_cases or report.failing_cases:
                async with self.sessions() as session, session.begin():
                    for ident in (*report.overdue_cases, *report.failing_cases):
                        report.raised += await self._raise_alone(session, ident, now)
        except Exception as exc:
            report.failed = True
            cause = describe(exc)
            if cause is not None:
                log.error("AUDIT: the audit itself failed: %s", cause)
            else:
                log.exception("AUDIT: the audit itself failed")
            return report
        if report.healthy and self.heartbeat_url:
            report.heartbeat = await self._ping()
        return report

    async def _overdue(self, session: AsyncSession, now: datetime, report: AuditReport) -> None:
        rows = (
            await session.execute(
                select(Case.id, Case.priority, Case.next_step_at).where(
                    Case.status == "open",
                    Case.priority.in_(("urgent", "emergency")),
                    or_(Case.next_step_at.is_(None), Case.next_step_at < now - self.grace),
                )
            )
        ).all()
        for ident, priority, next_step_at in rows:
            report.overdue_cases.append(ident)
            log.error(
                "AUDIT: %s case %s is overdue (next step %s, no acknowledgement)",
                priority,
                ident,
                next_step_at,
            )

    async def _overdue_requests(
        self, session: AsyncSession, now: datetime, report: AuditReport
    ) -> None:
        """Case requests no case has taken in a tick (and the grace) after they were made."""
        rows = (
            await session.execute(
                select(
                    CaseRequest.id,
                    CaseRequest.student_id,
                    CaseRequest.attempts,
                    CaseRequest.last_error,
                )
                .where(
                    CaseRequest.handled_at.is_(None),
                    CaseRequest.created_at < now - self.tick - self.grace,
                )
                .order_by(CaseRequest.id)
            )
        ).all()
        for ident, student_id, attempts, error in rows:
            report.overdue_requests.append(ident)
            log.critical(
                "AUDIT: case request %s for student %s is waiting for intake "
                "(%s failed attempt(s), last %s)",
                ident,
                student_id,
                attempts,
                error or "none",
            )

    async def _failing(self, session: AsyncSession, now: datetime, report: AuditReport) -> None:
        """Open cases whose steps failed ALARM_AFTER times in a row: a person must look."""
        rows = (
            await session.execute(
                select(Case.id, Case.priority, Case.step_failures).where(
                    Case.status.in_(OPEN_STATUSES), Case.step_failures >= ALARM_AFTER
                )
            )
        ).all()
        for ident, priority, failures in rows:
            if ident in report.overdue_cases:
                continue
            report.failing_cases.append(ident)
            log.error(
                "AUDIT: %s case %s: its escalation step failed %s times in a row",
                priority,
                ident,
                failures,
            )

    async def _disabled(self, session: AsyncSession, report: AuditReport) -> None:
        disabled = (
            await session.scalars(
                select(Hospital.id).where(
                    Hospital.disabled_at.is_not(None), Hospital.active.is_(True)
                )
            )
        ).all()
        report.disabled_hospitals = list(disabled)
        for ident in disabled:
            log.error("AUDIT: hospital %s endpoint is disabled (410); fix its address", ident)

    async def _raise_alone(self, session: AsyncSession, ident: int, now: datetime) -> int:
        """Raise one case in its own savepoint: one that cannot be raised spoils no other."""
        try:
            async with session.begin_nested():
                case = await session.scalar(
                    select(Case).where(Case.id == ident).with_for_update(skip_locked=True)
                )
                if case is None:
                    return 0  # another process's auditor is raising it right now
                return await self._raise(session, case, now)
        except Exception as exc:
            if describe(exc) is not None:
                raise
            log.critical("AUDIT: case %s could not be raised (%s)", ident, type(exc).__name__)
            return 0

    async def _raise(self, session: AsyncSession, case: Case, now: datetime) -> int:
        """Alert the district tier, at most once per audit window per case."""
        bucket = int(now.timestamp() // max(60, int(self.grace.total_seconds())))
        people = await recipients(
            session,
            configured=self.shifts,
            tier="district",
            school_id=case.school_id,
            now=now,
            zone=self.district_zone,
        )
        if self.channels is not None:
            people = usable(people, self.channels)
        queued = 0
        for person in people:
            if (
                await enqueue(
                    session,
                    case,
                    recipient=person,
                    tier="district",
                    kind="alert",
                    now=now,
                    suffix=f"audit{bucket}",
                )
                is not None
            ):
                queued += 1
        record(session, case, actor="auditor", action="audit_raised", now=now, recipients=queued)
        if not people:
            log.critical(
                "AUDIT: case %s is overdue and no district counselor is reachable", case.id
            )
        return queued

    async def _stuck(self, session: AsyncSession, now: datetime, report: AuditReport) -> None:
        rows = (
            await session.scalars(
                select(Notification.id).where(
                    or_(
                        and_(
                            Notification.status == "sending",
                            Notification.lease_until < now - self.grace,
                        ),
                        and_(
                            Notification.status.in_(("pending", "failed")),
                            Notification.next_attempt_at < now - 10 * self.grace,
                        ),
                    )
                )
            )
        ).all()
        report.stuck_notifications = list(rows)
        for ident in rows:
            log.error("AUDIT: notification %s is stuck", ident)

    async def _unreachable(self, session: AsyncSession, now: datetime, report: AuditReport) -> None:
        since = now - timedelta(hours=24)
        # A recipient unreachable on every channel, or a step nobody could take. Distinct in
        # Python: with DISTINCT, SQLite prefers scanning every event by case id.
        rows = sorted(
            set(
                (
                    await session.scalars(
                        select(CaseEvent.case_id).where(
                            CaseEvent.action.in_(("unreachable", "nobody_on_duty")),
                            CaseEvent.at >= since,
                        )
                    )
                ).all()
            )
        )
        open_rows = (
            (
                await session.scalars(
                    select(Case.id).where(Case.id.in_(rows), Case.status == "open")
                )
            ).all()
            if rows
            else []
        )
        report.unreachable_cases = list(open_rows)
        for ident in open_rows:
            log.error("AUDIT: case %s has a tier or recipient nobody could reach", ident)

    async def _ping(self) -> bool:
        try:
            if self.client is not None:
                response = await self.client.get(self.heartbeat_url, timeout=10)
            else:
                async with httpx.AsyncClient() as client:
                    response = await client.get(self.heartbeat_url, timeout=10)
        except httpx.HTTPError as exc:
            log.warning("heartbeat ping failed: %s", type(exc).__name__)
            return False
        return response.is_success
