"""Dispatching claimed notifications: build the alert, send it, record what happened.

Claims commit before any send, so a crash mid-send leaves a ``sending`` row with a lease that
the next claim recovers: delivery is at least once, and a resend carries the same
idempotency key. A dead row moves the recipient to their next channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import case_number, record
from escalation.notifiers.base import Alert, Notifier, SendResult
from escalation.outbox import claim, enqueue, mark_failed, mark_sent
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
CLAIM_BATCH = 50
OPEN = ("open", "acknowledged", "in_progress", "referred")


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
    ) -> None:
        self.sessions = sessions
        self.notifiers = notifiers
        self.cipher = cipher
        self.quote_chars = quote_chars
        self.limit = asyncio.Semaphore(concurrency)

    async def dispatch(self, now: datetime, report: TickReport) -> None:
        """Claim and send until nothing is due."""
        while True:
            async with self.sessions() as session, session.begin():
                claimed = await claim(session, now, CLAIM_BATCH)
            if not claimed:
                return
            results = await asyncio.gather(*(self._one(c.id, now) for c in claimed))
            for outcome in results:
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "dead":
                    report.dead += 1
                else:
                    report.failed += 1
            if len(claimed) < CLAIM_BATCH:
                return

    async def _one(self, ident: int, now: datetime) -> str:
        async with self.limit:
            async with self.sessions() as session:
                alert, stale = await self._build(session, ident)
            if stale is not None:
                async with self.sessions() as session, session.begin():
                    row = await session.get(Notification, ident)
                    if row is not None:
                        await mark_failed(session, row, now, stale, permanent=True)
                return "dead"
            assert alert is not None
            notifier = self.notifiers.get(alert.channel)
            if notifier is None:
                result = SendResult.failed(f"no notifier configured for {alert.channel}")
            else:
                try:
                    result = await notifier.send(alert)
                except Exception as exc:  # a notifier bug must not kill the loop
                    log.exception("notifier %s raised for notification %s", alert.channel, ident)
                    result = SendResult.retry(f"notifier raised {type(exc).__name__}")
            return await self._complete(ident, alert, result, now)

    async def _build(self, session: AsyncSession, ident: int) -> tuple[Alert | None, str | None]:
        row = await session.get(Notification, ident)
        if row is None:
            return None, "vanished"
        case = await session.get(Case, row.case_id)
        if case is None:
            return None, "case vanished"
        if row.kind == "alert" and (row.token != case.token or case.status != "open"):
            # Acknowledged, raised or closed since this alert was queued: do not page anyone
            # for a step that no longer exists.
            return None, "superseded"
        student = await session.get(Student, case.student_id)
        school = await session.get(School, case.school_id) if case.school_id else None
        klass = (
            await session.get(SchoolClass, student.class_id)
            if student is not None and student.class_id
            else None
        )
        assessment = (
            await session.get(RiskAssessmentRecord, case.assessment_id)
            if case.assessment_id
            else None
        )
        name, role = await self._recipient(session, row)
        return Alert(
            notification_id=row.id,
            idempotency_key=row.idempotency_key,
            kind=row.kind,  # type: ignore[arg-type]
            case_id=case.id,
            case_number=case_number(case),
            priority=case.priority,  # type: ignore[arg-type]
            status=case.status,
            school=school.name if school else "（匿名 / anonymous）",
            class_name=klass.name if klass else None,
            student_display=student.display_name if student else "?",
            reason=case.reason,
            explanation=assessment.explanation if assessment else "",
            recipient_name=name,
            recipient_role=role,
            channel=row.channel,
            address=row.address,
            created_at=row.created_at,
            evidence_quote=await self._quote(session, assessment),
            extra={k: str(v) for k, v in row.extra.items()},
        ), None

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

    async def _complete(self, ident: int, alert: Alert, result: SendResult, now: datetime) -> str:
        async with self.sessions() as session, session.begin():
            if result.ok:
                await mark_sent(session, ident, now, result.external_id)
                return "sent"
            row = await session.get(Notification, ident)
            if row is None:
                return "failed"
            dead = await mark_failed(session, row, now, result.error, permanent=result.permanent)
            log.warning(
                "notification %s (case %s, %s) %s: %s",
                ident,
                row.case_id,
                row.channel,
                "dead" if dead else "will retry",
                result.error,
            )
            case = await session.get(Case, row.case_id)
            if result.disable_endpoint and row.recipient_type == "hospital":
                hospital = await session.get(Hospital, row.recipient_id)
                if hospital is not None and hospital.disabled_at is None:
                    hospital.disabled_at = now
                    log.error(
                        "hospital %s endpoint disabled (410 Gone); auditor will raise it",
                        hospital.id,
                    )
            if dead and case is not None:
                await self._next_channel(session, case, row, now)
            return "dead" if dead else "failed"

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
