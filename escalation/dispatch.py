"""Dispatching claimed notifications: build the alert, send it, record what happened.

Claims commit before any send, so a crash mid-send leaves a ``sending`` row with a lease that
the next claim recovers: delivery is at least once, and a resend carries the same
idempotency key. Each send's result is recorded the moment it completes, in its own short
transaction, so a crash loses at most the sends that were in flight, never a batch's worth of
"sent" marks. A claim counts as an attempt only once its send is about to start, and no send
is waited for past ``send_timeout``, which the lease outlasts (see :mod:`escalation.lease`).
A dead row moves the recipient to their next channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.fernet import InvalidToken
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.cases import case_number, record
from escalation.lease import CONCURRENCY, LEASE, RECORD_MARGIN, SEND_GRACE
from escalation.notifiers.base import Alert, Notifier, SendResult
from escalation.outbox import claim, enqueue, mark_failed
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
    from escalation.engine import TickReport

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class Dispatcher:
    """Sends due notifications through the notifier for each channel."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifiers: Mapping[str, Notifier],
        *,
        cipher: DataCipher | None,
        quote_chars: int,
        concurrency: int = CONCURRENCY,
        lease: timedelta = LEASE,
        send_timeout: timedelta | None = None,
        console_url: str = "",
    ) -> None:
        self.lease = lease
        # Where the console is served (web.public_url): alerts link to the case's page.
        self.console_url = console_url.rstrip("/")
        self.sessions = sessions
        self.notifiers = notifiers
        self.cipher = cipher
        self.quote_chars = quote_chars
        self.limit = asyncio.Semaphore(concurrency)
        # Everything claimed is sent at once: no claimed row waits for a free slot while its
        # lease runs.
        self.batch = max(1, concurrency)
        self.send_timeout = send_timeout or max(timedelta(seconds=1), lease - RECORD_MARGIN)
        # Sent, but the database refused the "sent" mark (an outage): marked first next time,
        # before anything is claimed, so the outage does not turn into a second delivery.
        self._unsaved: dict[int, str | None] = {}

    async def dispatch(self, now: datetime, report: TickReport) -> None:
        """Claim and send until nothing is due, a batch at a time."""
        started = time.monotonic()

        def clock() -> datetime:
            # ``now`` is the tick's start; a lease counts from the moment of the claim.
            return now + timedelta(seconds=time.monotonic() - started)

        await self._save_unsaved(clock(), report)
        while True:
            claimed_at = clock()
            async with self.sessions() as session, session.begin():
                claimed = await claim(
                    session, claimed_at, self.batch, self.lease, channels=self.notifiers.keys()
                )
            if not claimed:
                return
            lease_until = claimed_at + self.lease
            ids = [c.id for c in claimed]
            async with self.sessions() as session:
                alerts, stale = await self._build_batch(session, ids)
            if clock() - claimed_at > (self.lease - self.send_timeout) / 2:
                # The claim aged while the batch was built (a slow database): sending now
                # could outlive the lease. Hand the rows back for the next pass.
                log.warning("claimed batch aged before sending; handing %s row(s) back", len(ids))
                await self._release(ids, lease_until)
                return
            await self._begin(alerts, stale, lease_until, clock(), report)
            outcomes = await asyncio.gather(
                *(self._deliver(alert, lease_until, clock, report) for alert in alerts),
                return_exceptions=True,
            )
            problem = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if problem is not None:
                raise problem
            if len(claimed) < self.batch:
                return

    async def _begin(
        self,
        alerts: list[Alert],
        stale: dict[int, str],
        lease_until: datetime,
        now: datetime,
        report: TickReport,
    ) -> None:
        """Before sending: stale rows go dead, and each row about to be sent counts an attempt."""
        async with self.sessions() as session, session.begin():
            for ident, why in stale.items():
                row = await session.get(Notification, ident, with_for_update=True)
                if row is not None and _owned(row, lease_until):
                    await mark_failed(session, row, now, why, permanent=True)
                    report.dead += 1
            if alerts:
                await session.execute(
                    update(Notification)
                    .where(
                        Notification.id.in_([a.notification_id for a in alerts]),
                        Notification.lease_until == lease_until,
                    )
                    .values(attempts=Notification.attempts + 1)
                    .execution_options(synchronize_session=False)
                )

    async def _deliver(
        self, alert: Alert, lease_until: datetime, clock: Clock, report: TickReport
    ) -> None:
        """Send one alert and record its result at once."""
        result = await self._send(alert)
        try:
            await self._record(alert, result, lease_until, clock(), report)
        except Exception:
            if result.ok:
                self._unsaved[alert.notification_id] = result.external_id
            raise

    async def _send(self, alert: Alert) -> SendResult:
        async with self.limit:
            notifier = self.notifiers.get(alert.channel)
            if notifier is None:
                # Never claimed by this process (see claim); should one slip through, it is
                # not this recipient's fault: try again later, perhaps in another process.
                return SendResult.retry(f"no notifier for {alert.channel} in this process")
            try:
                # The lease is sized to this deadline: a send past it could meet a second
                # worker's claim of the same row.
                # A second more than the notifiers' own timeouts, so theirs fire first and a
                # send is not abandoned while it completes.
                async with asyncio.timeout((self.send_timeout + SEND_GRACE).total_seconds()):
                    return await notifier.send(alert)
            except TimeoutError:
                return SendResult.retry("no answer within the send timeout")
            except Exception as exc:  # a notifier bug must not kill the loop
                log.exception(
                    "notifier %s raised for notification %s", alert.channel, alert.notification_id
                )
                return SendResult.retry(f"notifier raised {type(exc).__name__}")

    async def _record(
        self,
        alert: Alert,
        result: SendResult,
        lease_until: datetime,
        now: datetime,
        report: TickReport,
    ) -> None:
        """One send's outcome, in its own short transaction."""
        async with self.sessions() as session, session.begin():
            if result.ok:
                # Delivered is delivered, even if the claim lapsed meanwhile.
                await _mark_sent(session, alert.notification_id, result.external_id, now)
                report.sent += 1
                return
            row = await session.get(Notification, alert.notification_id, with_for_update=True)
            if row is None or not _owned(row, lease_until):
                return  # the claim lapsed and another worker holds the row now
            if await self._failed(session, row, result, now):
                report.dead += 1
            else:
                report.failed += 1

    async def _save_unsaved(self, now: datetime, report: TickReport) -> None:
        if not self._unsaved:
            return
        unsaved = dict(self._unsaved)
        async with self.sessions() as session, session.begin():
            for ident, external_id in unsaved.items():
                await _mark_sent(session, ident, external_id, now)
        log.info("recorded %s send(s) made before a database outage", len(unsaved))
        for ident in unsaved:
            self._unsaved.pop(ident, None)
        report.sent += len(unsaved)

    async def _release(self, ids: list[int], lease_until: datetime) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Notification)
                .where(
                    Notification.id.in_(ids),
                    Notification.status == "sending",
                    Notification.lease_until == lease_until,
                )
                .values(status="pending", lease_until=None)
                .execution_options(synchronize_session=False)
            )

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
                    link=self._link(case.id, row.recipient_type),
                )
            )
        return alerts, stale

    def _link(self, case_id: int, recipient_type: str) -> str | None:
        # Hospitals cannot sign in to the console: their referral carries no link.
        if not self.console_url or recipient_type != "counselor":
            return None
        return f"{self.console_url}/console/cases/{case_id}"

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

    async def _failed(
        self, session: AsyncSession, row: Notification, result: SendResult, now: datetime
    ) -> bool:
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
        try:
            text = self.cipher.decrypt(token)
        except InvalidToken:
            # A row under a key this process does not hold: the alert goes without a quote.
            log.warning(
                "message %s cannot be decrypted; alert sent without a quote", assessment.message_id
            )
            return None
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


def _owned(row: Notification, lease_until: datetime) -> bool:
    """Whether the row is still under this worker's claim."""
    return row.status == "sending" and row.lease_until == lease_until


async def _mark_sent(
    session: AsyncSession, ident: int, external_id: str | None, now: datetime
) -> None:
    await session.execute(
        update(Notification)
        .where(Notification.id == ident, Notification.status != "sent")
        .values(
            status="sent", sent_at=now, lease_until=None, external_id=external_id, last_error=None
        )
        .execution_options(synchronize_session=False)
    )
