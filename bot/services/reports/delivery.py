"""Monday's reports, sent once: each school's to its counselors, the district's to its team.

``run`` calls :meth:`WeeklyDelivery.tick` every few minutes. Once the configured weekday and
time (``reports.weekly_at``, in each school's zone; the district's zone for the district) has
come in the current week, last week's report is due. A row in ``report_deliveries`` (unique
per scope and week) is the claim: the process that inserts it sends, every other skips, and a
restart later that week still sends what nobody claimed. The row records the outcome, which
the console shows as a notice. Without SMTP the row says "skipped" and a warning is logged.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import EmailSettings, Settings
from bot.services.reports.labels import t
from bot.services.reports.report_html import render_html
from bot.services.reports.weekly_reports import WeeklyReports
from bot.services.reports.weeks import Week
from escalation.actions import Actor
from storage.models import (
    Counselor,
    CounselorContact,
    CounselorSchool,
    ReportDelivery,
    School,
)

log = logging.getLogger(__name__)
ACTOR = Actor.admin("system:weekly-reports")
Send = Callable[[str, str, str, str], None]  # to, subject, plain text, html


@dataclass
class DeliveryReport:
    """What one tick did."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0


def due_week(now: datetime, zone: str, weekday: int, at: time) -> Week | None:
    """Last week, once this week's delivery time has come in ``zone``; else None."""
    this = Week.containing(now, zone)
    slot = datetime.combine(this.monday + timedelta(days=weekday), at, ZoneInfo(zone))
    return this.previous() if now >= slot else None


def smtp_sender(email: EmailSettings) -> Send | None:
    """A blocking SMTP send with the green channel's settings, or None without SMTP."""
    if not email.host:
        return None
    password = email.password.get_secret_value() if email.password else None

    def send(to: str, subject: str, plain: str, html: str) -> None:
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"], msg["To"], msg["Subject"] = email.sender, to, subject
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(plain, charset="utf-8")
        msg.add_alternative(html, subtype="html", charset="utf-8")
        context = ssl.create_default_context()
        timeout = email.timeout.total_seconds()
        smtp: smtplib.SMTP
        if email.security == "tls":
            smtp = smtplib.SMTP_SSL(email.host, email.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(email.host, email.port, timeout=timeout)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=context)
            if email.username and password:
                smtp.login(email.username, password)
            smtp.send_message(msg, to_addrs=[to])

    return send


class WeeklyDelivery:
    """Sends each Monday's reports once across every process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        send: Send | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.send = send if send is not None else smtp_sender(settings.escalation.email)
        self.reports = WeeklyReports(sessions, settings)
        self._warned = False

    async def tick(self, now: datetime) -> DeliveryReport:
        """Send whatever report is due and unclaimed; failures are recorded, never raised."""
        done = DeliveryReport()
        weekday, at = self.settings.reports.weekly_slot
        async with self.sessions() as session:
            schools = (await session.execute(select(School.id, School.code, School.timezone))).all()
        targets: list[tuple[str, str | None, str]] = [
            (f"school:{ident}", code, zone) for ident, code, zone in schools
        ]
        targets.append(("district", None, self.settings.schools.default_timezone))
        for scope, code, zone in targets:
            week = due_week(now, zone, weekday, at)
            if week is None or not await self._claim(scope, week.label, now):
                continue
            done.claimed += 1
            status = await self._deliver(scope, code, week, now)
            setattr(done, status, getattr(done, status) + 1)
        return done

    async def _claim(self, scope: str, week: str, now: datetime) -> bool:
        async with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            result = await session.execute(
                insert(ReportDelivery)
                .values(scope=scope, week=week, status="claimed", recipients=0, claimed_at=now)
                .on_conflict_do_nothing(index_elements=["scope", "week"])
                .returning(ReportDelivery.id)
            )
            return result.first() is not None

    async def _deliver(self, scope: str, code: str | None, week: Week, now: datetime) -> str:
        try:
            addresses = await self._recipients(scope)
            if self.send is None:
                if not self._warned:
                    log.warning("weekly reports not e-mailed: escalation.email.host is not set")
                    self._warned = True
                return await self._finish(scope, week, "skipped", 0, "smtp not configured")
            if not addresses:
                return await self._finish(scope, week, "skipped", 0, "no e-mail recipients")
            report = await self.reports.build(school=code, week=week.label, actor=ACTOR, now=now)
            html = render_html(report)
            title = t("report.school" if code else "report.district", "zh")
            subject = f"{title} {week.label}" + (f" · {code}" if code else "")
            plain = f"{subject}\n\n{t('report.confidential', 'zh')}\n(HTML)"
            for address in addresses:
                await asyncio.to_thread(self.send, address, subject, plain, html)
            return await self._finish(scope, week, "sent", len(addresses), None, now)
        except Exception as exc:
            log.exception("weekly report for %s %s failed", scope, week.label)
            return await self._finish(scope, week, "failed", 0, type(exc).__name__)

    async def _recipients(self, scope: str) -> Sequence[str]:
        query = (
            select(CounselorContact.address)
            .join(Counselor, Counselor.id == CounselorContact.counselor_id)
            .where(CounselorContact.channel == "email", Counselor.active.is_(True))
        )
        if scope == "district":
            query = query.where(Counselor.scope == "district", Counselor.role == "district_crisis")
        else:
            school_id = int(scope.removeprefix("school:"))
            query = query.join(CounselorSchool, CounselorSchool.counselor_id == Counselor.id).where(
                CounselorSchool.school_id == school_id, Counselor.role == "school_counselor"
            )
        async with self.sessions() as session:
            return sorted(set(await session.scalars(query)))

    async def _finish(
        self,
        scope: str,
        week: Week,
        status: str,
        recipients: int,
        error: str | None,
        now: datetime | None = None,
    ) -> str:
        async with self.sessions.begin() as session:
            await session.execute(
                update(ReportDelivery)
                .where(ReportDelivery.scope == scope, ReportDelivery.week == week.label)
                .values(status=status, recipients=recipients, error=error, sent_at=now)
            )
        log.info(
            "weekly report %s %s: %s to %s recipient(s)", scope, week.label, status, recipients
        )
        return status


async def notices(
    sessions: async_sessionmaker[AsyncSession], limit: int = 20
) -> Sequence[ReportDelivery]:
    """The latest deliveries, newest first: what the console shows as notices."""
    async with sessions() as session:
        rows = await session.scalars(
            select(ReportDelivery).order_by(ReportDelivery.claimed_at.desc()).limit(limit)
        )
        return list(rows.all())
