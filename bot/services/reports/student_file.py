"""The student's mental-health file (心理健康档案): history, cases, plan, consent, reminders.

A counselor whose scope covers the student may view it; the safety plan is decrypted only for
such a counselor (an administrator sees that one exists). Exports (JSON, HTML) need the
district role. Every view, export and refusal is an audit event with who, which student and
when, never what the file says.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.errors import NotFoundError
from bot.services.admin import school_by_ref
from bot.services.reports.access import Viewer, refuse, viewer_for
from bot.services.students import age_of, printable
from escalation.actions import Actor
from escalation.cases import case_number
from flows import StudentProfile
from storage.audit import audit
from storage.crypto import DataCipher
from storage.models import (
    AlertMark,
    Case,
    CaseEvent,
    CheckinResult,
    ReminderDelivery,
    SafetyPlan,
    School,
    SchoolClass,
    Student,
)

INSTRUMENTS = {
    "phq9": "PHQ-9/PHQ-A",
    "gad7": "GAD-7",
    "asq": "ASQ",
    "phq2": "PHQ-2",
    "gad2": "GAD-2",
    "mood_check": "Mood check",
    "mood": "Mood",
}
# A weekly reminder counts as answered by a check-in finished before the next one, or
# within this long when there is no next one yet.
ANSWER_WINDOW = timedelta(days=7)
RECENT_REMINDERS = 12


@dataclass(frozen=True)
class ScoreRow:
    """One scored instrument."""

    at: datetime
    instrument: str
    label: str
    score: int | None
    band: str


@dataclass(frozen=True)
class CaseRow:
    """One green-channel case, as the file lists it."""

    id: int
    number: str
    priority: str
    status: str
    resolution: str | None
    reason: str
    opened: datetime
    closed: datetime | None
    referred: datetime | None
    referrals: int
    mark: str | None


@dataclass(frozen=True)
class ReminderRow:
    """One weekly reminder and whether a check-in answered it."""

    at: datetime
    status: str
    answered: bool | None


@dataclass(frozen=True)
class StudentFile:
    """Everything the file shows. ``plan`` is set only for a counselor in scope."""

    student_id: int
    name: str
    number: str | None
    school: str | None
    class_name: str | None
    grade: int | None
    status: str
    zone: str
    consent_at: datetime | None
    guardian_consent: bool
    consent_needed: bool
    checkins: tuple[ScoreRow, ...]
    cases: tuple[CaseRow, ...]
    plan_exists: bool
    plan_updated: datetime | None
    reminders_sent: int
    reminders_missed: int
    reminders: tuple[ReminderRow, ...]
    generated_at: datetime
    plan: dict[str, str] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """The file as JSON-ready data (times as ISO 8601 in UTC)."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        data: dict[str, Any] = plain(asdict(self))
        return data


def reminder_rows(
    reminders: list[tuple[datetime, str]], completed: list[datetime], now: datetime
) -> list[ReminderRow]:
    """Each weekly reminder: answered by a check-in before the next one (or within a week).

    ``answered`` is None while the latest reminder's week is still running unanswered.
    """
    rows = []
    ordered = sorted(reminders)
    for i, (at, status) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else at + ANSWER_WINDOW
        answered: bool | None = any(at <= done < until for done in completed)
        if not answered and i + 1 == len(ordered) and now < until:
            answered = None
        rows.append(ReminderRow(at, status, answered))
    return rows


class StudentFiles:
    """Opens students' files, with scope checks and an audit event for every look."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.settings = settings

    async def by_number(
        self, *, school: str, number: str, actor: Actor, now: datetime, export: str | None = None
    ) -> StudentFile:
        """The file of student ``number`` at ``school`` (code or name)."""
        async with self.sessions() as session:
            found = await school_by_ref(session, school)
            student_id = await session.scalar(
                select(Student.id).where(
                    Student.school_id == found.id, Student.student_number == number.strip()
                )
            )
        if student_id is None:
            raise NotFoundError(
                f"no student {number!r} in {found.code} "
                f"(see `heartguard students list --school {found.code}`)"
            )
        return await self.by_id(student_id, actor=actor, now=now, export=export)

    async def by_id(
        self, student_id: int, *, actor: Actor, now: datetime, export: str | None = None
    ) -> StudentFile:
        """The file of one student (the console's entry point).

        Args:
            export: None for a view; "json" or "html" for a named export (district role).

        Raises:
            NotAllowedError: outside the viewer's scope, or an export without the district
                role; the refusal is audited.
            NotFoundError: no such student.
        """
        async with self.sessions.begin() as session:
            student = await session.get(Student, student_id)
            if student is None:
                raise NotFoundError(f"no student #{student_id}")
            viewer = await viewer_for(session, actor)
            error = None
            if not viewer.covers(student.school_id):
                why = "this student is outside your schools"
            elif export is not None and not viewer.district:
                why = "exporting a student's file needs the district role"
            else:
                why = ""
            if why:
                error = refuse(
                    session,
                    viewer,
                    now=now,
                    attempted=f"student_file_{export or 'view'}",
                    subject_type="student",
                    subject_id=student.id,
                    why=why,
                )
            else:
                audit(
                    session,
                    now=now,
                    actor=actor.label,
                    action="student_file_exported" if export else "student_file_viewed",
                    subject_type="student",
                    subject_id=student.id,
                    **({"format": export} if export else {}),
                )
                built = await self._read(session, student, viewer, now)
        if error is not None:
            raise error
        return built

    async def _read(
        self, session: AsyncSession, student: Student, viewer: Viewer, now: datetime
    ) -> StudentFile:
        school = await session.get(School, student.school_id) if student.school_id else None
        klass = await session.get(SchoolClass, student.class_id) if student.class_id else None
        results = (
            await session.scalars(
                select(CheckinResult)
                .where(CheckinResult.student_id == student.id)
                .order_by(CheckinResult.created_at, CheckinResult.id)
            )
        ).all()
        checkins = tuple(
            ScoreRow(
                r.created_at,
                r.instrument,
                INSTRUMENTS.get(r.instrument, r.instrument),
                r.score,
                r.band,
            )
            for r in results
        )
        completed = [r.created_at for r in results if r.instrument == "mood"]
        sent = (
            await session.execute(
                select(ReminderDelivery.sent_at, ReminderDelivery.status).where(
                    ReminderDelivery.student_id == student.id,
                    ReminderDelivery.kind == "weekly",
                    ReminderDelivery.status.in_(("sent", "failed", "unreachable")),
                    ReminderDelivery.sent_at.is_not(None),
                )
            )
        ).all()
        rows = reminder_rows([(at, status) for at, status in sent if at], completed, now)
        delivered = [row for row in rows if row.status == "sent"]
        plan_row = await session.get(SafetyPlan, student.id)
        plan = None
        if plan_row is not None and viewer.is_counselor and viewer.covers(student.school_id):
            decoded = json.loads(printable(self.cipher.decrypt(plan_row.plan_enc)))
            plan = {str(k): str(v) for k, v in decoded.items()}
        profile = StudentProfile(
            grade=student.grade,
            age=age_of(student, now),
            age_group=student.age_group if student.age_group in ("under_age", "of_age") else None,  # type: ignore[arg-type]
        )
        return StudentFile(
            student_id=student.id,
            name=student.display_name,
            number=student.student_number,
            school=f"{school.code} {school.name}" if school else None,
            class_name=klass.name if klass else None,
            grade=student.grade,
            status=student.status,
            zone=school.timezone if school else self.settings.schools.default_timezone,
            consent_at=student.consent_at,
            guardian_consent=student.guardian_consent,
            consent_needed=profile.under_age(self.settings.schools.guardian_consent_age),
            checkins=checkins,
            cases=await _cases(session, student.id),
            plan_exists=plan_row is not None,
            plan_updated=plan_row.updated_at if plan_row else None,
            reminders_sent=len(delivered),
            reminders_missed=sum(row.answered is False for row in delivered),
            reminders=tuple(rows[-RECENT_REMINDERS:]),
            generated_at=now,
            plan=plan,
        )


async def _cases(session: AsyncSession, student_id: int) -> tuple[CaseRow, ...]:
    cases = (
        await session.execute(
            select(Case, AlertMark.mark)
            .outerjoin(AlertMark, AlertMark.case_id == Case.id)
            .where(Case.student_id == student_id)
            .order_by(Case.created_at)
        )
    ).all()
    if not cases:
        return ()
    counts: dict[int, int] = {}
    for (case_id,) in (
        await session.execute(
            select(CaseEvent.case_id).where(
                CaseEvent.case_id.in_([case.id for case, _ in cases]),
                CaseEvent.action == "referral_sent",
            )
        )
    ).all():
        counts[case_id] = counts.get(case_id, 0) + 1
    return tuple(
        CaseRow(
            id=case.id,
            number=case_number(case),
            priority=case.priority,
            status=case.status,
            resolution=case.resolution,
            reason=case.reason,
            opened=case.created_at,
            closed=case.closed_at,
            referred=case.referred_at,
            referrals=counts.get(case.id, 0),
            mark=mark,
        )
        for case, mark in cases
    )
