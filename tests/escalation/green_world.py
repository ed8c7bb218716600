"""A small invented district for green-channel tests: schools, counselors, shifts, a hospital.

Channels are recorders that keep every alert; a clock the test moves by hand replaces time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import policies
from bot.config.settings import load_settings
from bot.services import admin
from escalation.actions import CaseService
from escalation.auditor import Auditor
from escalation.duty import round_the_clock
from escalation.engine import EscalationEngine
from escalation.notifiers.base import Alert, SendResult
from storage.models import CaseRequest, Hospital, Student

# Monday 2026-11-02 10:00 in Shanghai.
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@dataclass
class Recorder:
    """A channel that records alerts and answers from a script (default: delivered)."""

    channel: str
    script: list[SendResult] = field(default_factory=list)
    sent: list[Alert] = field(default_factory=list)  # alerts and referrals
    updates: list[Alert] = field(default_factory=list)  # status changes of sent alerts
    tried: list[Alert] = field(default_factory=list)

    async def send(self, alert: Alert) -> SendResult:
        self.tried.append(alert)
        result = (
            self.script.pop(0)
            if self.script
            else SendResult.delivered(external_id=str(700 + len(self.tried)))
        )
        if result.ok:
            (self.updates if alert.kind == "update" else self.sent).append(alert)
        return result

    def to(self, name: str) -> list[Alert]:
        return [a for a in self.sent if a.recipient_name == name]


@dataclass
class World:
    """Ids of everything the tests talk about."""

    sessions: async_sessionmaker[AsyncSession]
    engine: EscalationEngine
    service: CaseService
    auditor: Auditor
    tg: Recorder
    mail: Recorder
    hook: Recorder
    school1: int
    school2: int
    teacher: int  # school counselor at school 1, on duty around the clock
    other_teacher: int  # school counselor at school 2
    district: int  # district crisis team
    student: int  # at school 1
    anonymous: int  # no school

    async def request(
        self, student: int, priority: str, now: datetime, reason: str = "risk_high"
    ) -> None:
        async with self.sessions.begin() as session:
            session.add(
                CaseRequest(
                    student_id=student,
                    priority=priority,
                    reason=reason,
                    categories=["active_ideation"],
                    details={},
                    created_at=now,
                )
            )

    def new_engine(self) -> EscalationEngine:
        """A fresh engine object on the same database: a restarted process."""
        settings = load_settings(None, {})
        return EscalationEngine(
            self.sessions,
            policies(settings),
            {"telegram": self.tg, "email": self.mail, "webhook": self.hook},
        )


async def build_world(
    sessions: async_sessionmaker[AsyncSession],
    *,
    school_shift: bool = True,
    scripts: Iterable[SendResult] = (),
) -> World:
    settings = load_settings(None, {})
    async with sessions.begin() as session:
        s1 = await admin.add_school(
            session, code="S1", name="第一示例中学", timezone="Asia/Shanghai", now=T0, actor="t"
        )
        s2 = await admin.add_school(
            session, code="S2", name="第二示例中学", timezone="Asia/Shanghai", now=T0, actor="t"
        )
        teacher = await admin.add_counselor(
            session,
            name="甲老师",
            role="school_counselor",
            school_refs=["S1"],
            contacts=[("telegram", "1001"), ("email", "jia@example.invalid")],
            now=T0,
            actor="t",
        )
        other = await admin.add_counselor(
            session,
            name="乙老师",
            role="school_counselor",
            school_refs=["S2"],
            contacts=[("telegram", "1002")],
            now=T0,
            actor="t",
        )
        district = await admin.add_counselor(
            session,
            name="区危机组",
            role="district_crisis",
            school_refs=[],
            contacts=[("telegram", "2001")],
            now=T0,
            actor="t",
        )
        if school_shift:
            round_the_clock(session, teacher.id, tier="school", school_id=s1.id, now=T0)
        session.add(
            Hospital(
                name="区精神卫生中心",
                channel="webhook",
                address="http://h.invalid",
                active=True,
                created_at=T0,
            )
        )
        student = Student(
            school_id=s1.id, display_name="测试同学", grade=8, status="active", created_at=T0
        )
        anonymous = Student(display_name="匿名同学", status="unlinked", created_at=T0)
        session.add_all([student, anonymous])
        await session.flush()
        ids = (s1.id, s2.id, teacher.id, other.id, district.id, student.id, anonymous.id)
    tg, mail, hook = Recorder("telegram", list(scripts)), Recorder("email"), Recorder("webhook")
    chains = policies(settings)
    engine = EscalationEngine(sessions, chains, {"telegram": tg, "email": mail, "webhook": hook})
    service = CaseService(sessions, chains, emergency_ack_expiry=timedelta(minutes=30))
    auditor = Auditor(sessions, grace=timedelta(minutes=2))
    return World(sessions, engine, service, auditor, tg, mail, hook, *ids)


async def events(sessions: async_sessionmaker[AsyncSession], case_id: int) -> list[str]:
    from storage.models import CaseEvent

    async with sessions() as session:
        rows = (
            await session.scalars(
                select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        ).all()
    return list(rows)
