"""Dispatching claimed notifications: build the alert, send it, record what happened.

Claims commit before any send, so a crash mid-send leaves a ``sending`` row with a lease that
the next claim recovers: delivery is at least once, and a resend carries the same
idempotency key. A dead row moves the recipient to their next channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import case_number, record
from escalation.notifiers.base import Alert, Notifier, SendResult
from escalation.outbox import LEASE, claim, enqueue, mark_failed
from escalation.roster import Recipient
from storage.crypto import DataCipher
from storage.models import (
    Case,
    Counselor,
    CounselorContact,
    Hospital,
    Message,
    Notification,
    RiskAssessmentRecord,
    School,
    SchoolClass,
    Student,
)

if TYPE_CHECKING:
    from datetime import datetime

    from escalation.engine import TickReport

log = logging.getLogger(__name__)
# A worker claims only what it can send soon: rows it holds are rows no other worker can
# send, and a claim held past its lease is taken over (and sent twice).
CLAIM_PER_SLOT = 2


class Dispatcher:
    """Sends due notifications through the notifier for each channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifiers: Mapping[str, Notifier],
        *,
        cipher: DataCipher | None,
        quote_chars: int,
        concurrency: int,
        lease: timedelta = LEASE,
    ) -> None:
        self.lease = lease
        self.sessions = sessions
        self.notifiers = notifiers
        self.cipher = cipher
        self.quote_chars = quote_chars
        self.limit = asyncio.Semaphore(concurrency)
        self.batch = max(8, concurrency * CLAIM_PER_SLOT)

    async def dispatch(self, now: datetime, report: TickReport) -> None:
        """Claim and send until nothing is due, a batch at a time."""
        while True:
            async with self.sessions() as session, session.begin():
                claimed = await claim(
                    session, now, self.batch, self.lease, channels=self.notifiers.keys()
                )
            if not claimed:
                return
            async with self.sessions() as session:
                alerts, stale = await self._build_batch(session, [c.id for c in claimed])
            results = await asyncio.gather(*(self._send(alert) for alert in alerts))
            await self._complete_batch(list(zip(alerts, results, strict=True)), stale, now, report)
            if len(claimed) < self.batch:
                return

    async def _send(self, alert: Alert) -> SendResult:
        async with self.limit:
            notifier = self.notifiers.get(alert.channel)
            if notifier is None:
                # Never claimed by this process (see claim); should one slip through, it is
                # not this recipient's fault: try again later, perhaps in another process.
                return SendResult.retry(f"no notifier for {alert.channel} in this process")
            try:
                return await notifier.send(alert)
            except Exception as exc:  # a notifier bug must not kill the loop
                log.exception(
                    "notifier %s raised for notification %s", alert.channel, alert.notification_id
                )
                return SendResult.retry(f"notifier raised {type(exc).__name__}")

    async def _build_batch(
        self, session: AsyncSession, ids: list[int]
    ) -> tuple[list[Alert], dict[int, str]]:
        """Every alert of a claimed batch from one joined query; stale rows set aside."""
        rows = (
            await session.execute(
                select(Notification, Case, Student, School, SchoolClass, RiskAssessmentRecord)
                .join(Case, Case.id == Notification.case_id)
                .join(Student, Student.id == Case.student_id)
                .outerjoin(School, School.id == Case.school_id)
                .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
                .outerjoin(RiskAssessmentRecord, RiskAssessmentRecord.id == Case.assessment_id)
                .where(Notification.id.in_(ids))
                .order_by(Notification.id)
            )
        ).all()
        names = await self._names(session, [r[0] for r in rows])
        alerts: list[Alert] = []
        stale: dict[int, str] = dict.fromkeys(ids, "vanished")
        for row, case, student, school, klass, assessment in rows:
            stale.pop(row.id, None)
            if row.kind == "alert" and (row.token != case.token or case.status != "open"):
                # Acknowledged, raised or closed since this alert was queued: do not page
                # anyone for a step that no longer exists.
                stale[row.id] = "superseded"
                continue
            name, role = names.get((row.recipient_type, row.recipient_id), ("?", "?"))
            alerts.append(
                Alert(
                    notification_id=row.id,
                    idempotency_key=row.idempotency_key,
                    kind=row.kind,  # type: ignore[arg-type]
                    case_id=case.id,
                    case_number=case_number(case),
                    priority=case.priority,  # type: ignore[arg-type]
                    status=case.status,
                    school=school.name if school else "（匿名 / anonymous）",
                    class_name=klass.name if klass else None,
                    student_display=student.display_name,
                    reason=case.reason,
                    explanation=assessment.explanation if assessment else "",
                    recipient_name=name,
                    recipient_role=role,
                    channel=row.channel,
                    address=row.address,
                    created_at=row.created_at,
                    evidence_quote=await self._quote(session, assessment),
                    extra={k: str(v) for k, v in row.extra.items()},
                    wishes={k: str(v) for k, v in (case.wishes or {}).items()},
                )
            )
        return alerts, stale

    async def _names(
        self, session: AsyncSession, rows: list[Notification]
    ) -> dict[tuple[str, int], tuple[str, str]]:
        counselors = {r.recipient_id for r in rows if r.recipient_type == "counselor"}
        hospitals = {r.recipient_id for r in rows if r.recipient_type == "hospital"}
        out: dict[tuple[str, int], tuple[str, str]] = {}
        if counselors:
            for ident, name, role in (
                await session.execute(
                    select(Counselor.id, Counselor.name, Counselor.role).where(
                        Counselor.id.in_(counselors)
                    )
                )
            ).all():
                out[("counselor", ident)] = (name, role)
        if hospitals:
            for ident, name in (
                await session.execute(
                    select(Hospital.id, Hospital.name).where(Hospital.id.in_(hospitals))
                )
            ).all():
                out[("hospital", ident)] = (name, "hospital")
        return out

    async def _complete_batch(
        self,
        results: list[tuple[Alert, SendResult]],
        stale: dict[int, str],
        now: datetime,
        report: TickReport,
    ) -> None:
        """Record a batch's outcomes in one transaction."""
        async with self.sessions() as session, session.begin():
            delivered = [
                {
                    "id": a.notification_id,
                    "status": "sent",
                    "sent_at": now,
                    "lease_until": None,
                    "external_id": r.external_id,
                    "last_error": None,
                }
                for a, r in results
                if r.ok
            ]
            if delivered:
                await session.execute(update(Notification), delivered)
            report.sent += len(delivered)
            for ident, why in stale.items():
                row = await session.get(Notification, ident)
                if row is not None:
                    await mark_failed(session, row, now, why, permanent=True)
                    report.dead += 1
            for alert, result in results:
                if result.ok:
                    continue
                dead = await self._failed(session, alert, result, now)
                if dead:
                    report.dead += 1
                else:
                    report.failed += 1

    async def _failed(
        self, session: AsyncSession, alert: Alert, result: SendResult, now: datetime
    ) -> bool:
        row = await session.get(Notification, alert.notification_id)
        if row is None:
            return False
        dead = await mark_failed(session, row, now, result.error, permanent=result.permanent)
        log.warning(
            "notification %s (case %s, %s) %s: %s",
            row.id,
            row.case_id,
            row.channel,
            "dead" if dead else "will retry",
            result.error,
        )
        if result.disable_endpoint and row.recipient_type == "hospital":
            hospital = await session.get(Hospital, row.recipient_id)
            if hospital is not None and hospital.disabled_at is None:
                hospital.disabled_at = now
                log.error(
                    "hospital %s endpoint disabled (410 Gone); auditor will raise it", hospital.id
                )
        case = await session.get(Case, row.case_id)
        if dead and case is not None:
            await self._next_channel(session, case, row, now)
        return dead

    async def _recipient(self, session: AsyncSession, row: Notification) -> tuple[str, str]:
        if row.recipient_type == "hospital":
            hospital = await session.get(Hospital, row.recipient_id)
            return (hospital.name if hospital else "hospital"), "hospital"
        counselor = await session.get(Counselor, row.recipient_id)
        return (counselor.name, counselor.role) if counselor else ("counselor", "counselor")

    async def _quote(
        self, session: AsyncSession, assessment: RiskAssessmentRecord | None
    ) -> str | None:
        """The student's own words, only as far as privacy.alert_quote_chars allows."""
        if not self.quote_chars or self.cipher is None or assessment is None:
            return None
        if assessment.message_id is None:
            return None
        token = await session.scalar(
            select(Message.text_enc).where(Message.id == assessment.message_id)
        )
        if token is None:
            return None
        text = self.cipher.decrypt(token)
        spans = [e for e in assessment.evidence if e.get("message", 0) == 0]
        start = min((int(e["start"]) for e in spans), default=0)
        return text[start : start + self.quote_chars]

    async def _next_channel(
        self, session: AsyncSession, case: Case, row: Notification, now: datetime
    ) -> None:
        """Try the same recipient's next channel; record when there is none."""
        contacts: tuple[tuple[str, str], ...] = ()
        name, role = await self._recipient(session, row)
        if row.recipient_type == "counselor":
            found = (
                await session.scalars(
                    select(CounselorContact)
                    .where(CounselorContact.counselor_id == row.recipient_id)
                    .order_by(CounselorContact.rank)
                )
            ).all()
            contacts = tuple((c.channel, c.address) for c in found)
        recipient = Recipient(row.recipient_type, row.recipient_id, name, role, contacts)
        suffix = row.idempotency_key.split(":")[4] if row.idempotency_key.count(":") >= 4 else "x"
        nxt = await enqueue(
            session,
            case,
            recipient=recipient,
            tier=row.tier,
            kind=row.kind,
            now=now,
            suffix=suffix,
            rank=row.contact_rank + 1,
            extra={k: str(v) for k, v in row.extra.items()},
        )
        if nxt is None:
            record(
                session,
                case,
                actor="system",
                action="unreachable",
                now=now,
                notification=row.id,
                recipient=f"{row.recipient_type}:{row.recipient_id}",
            )
            log.error(
                "case %s: %s %s unreachable on every channel",
                case.id,
                row.recipient_type,
                row.recipient_id,
            )
        else:
            record(
                session,
                case,
                actor="system",
                action="next_channel",
                now=now,
                notification=row.id,
                channel=nxt.channel,
            )
