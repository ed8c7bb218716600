"""The auditor: a periodic check that nothing urgent is overdue and nothing is stuck.

It logs problems loudly with ids, raises overdue urgent and emergency cases to the district
tier, and pings a dead-man's-switch heartbeat URL only when everything is on time.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import record
from escalation.coverage import usable
from escalation.outbox import enqueue
from escalation.roster import ShiftSpec, recipients
from storage.models import Case, CaseEvent, Hospital, Notification

log = logging.getLogger(__name__)


@dataclass
class AuditReport:
    """Problems found in one audit."""

    overdue_cases: list[int] = field(default_factory=list)
    stuck_notifications: list[int] = field(default_factory=list)
    unreachable_cases: list[int] = field(default_factory=list)
    disabled_hospitals: list[int] = field(default_factory=list)
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
    ) -> None:
        self.channels = channels
        self.shifts = tuple(shifts)
        self.sessions = sessions
        self.grace = grace
        self.heartbeat_url = heartbeat_url
        self.district_zone = district_zone
        self.client = client

    async def audit(self, now: datetime) -> AuditReport:
        """One audit pass; never raises."""
        report = AuditReport()
        try:
            async with self.sessions() as session, session.begin():
                await self._overdue(session, now, report)
                await self._stuck(session, now, report)
                await self._unreachable(session, now, report)
                disabled = (
                    await session.scalars(
                        select(Hospital.id).where(
                            Hospital.disabled_at.is_not(None), Hospital.active.is_(True)
                        )
                    )
                ).all()
                report.disabled_hospitals = list(disabled)
                for ident in disabled:
                    log.error(
                        "AUDIT: hospital %s endpoint is disabled (410); fix its address", ident
                    )
        except Exception:
            log.exception("AUDIT: the audit itself failed")
            return report
        if report.healthy and self.heartbeat_url:
            report.heartbeat = await self._ping()
        return report

    async def _overdue(self, session: AsyncSession, now: datetime, report: AuditReport) -> None:
        cases = (
            await session.scalars(
                select(Case)
                .where(
                    Case.status == "open",
                    Case.priority.in_(("urgent", "emergency")),
                    or_(Case.next_step_at.is_(None), Case.next_step_at < now - self.grace),
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        for case in cases:
            report.overdue_cases.append(case.id)
            log.error(
                "AUDIT: %s case %s is overdue (next step %s, no acknowledgement)",
                case.priority,
                case.id,
                case.next_step_at,
            )
            report.raised += await self._raise(session, case, now)

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
