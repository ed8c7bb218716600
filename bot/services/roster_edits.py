"""Changing one student on a school's roster: moving them to another class, removing them.

Both work within one school and by student number, the way a school office knows its pupils,
and both are audited (ids only). Removing a student who never enrolled deletes them with their
codes. Removing one who did erases them as ``/delete`` does (``students.erase``): their
messages, check-ins, safety plan and chat link go at once; their safety records stay for the
retention period, and their row with them, off the roster (the student number is free again),
until the retention job deletes both (``bot/services/retention.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError, UsageError
from bot.services import students
from bot.services.admin import school_by_ref
from escalation.cases import case_number
from escalation.lifecycle import OPEN_STATUSES
from storage.audit import audit
from storage.models import (
    Case,
    CaseRequest,
    EnrollmentCode,
    RiskAssessmentRecord,
    School,
    SchoolClass,
    Student,
)


async def on_roster(session: AsyncSession, school: School, number: str) -> Student:
    """The student with this number in the school (erased ones included).

    Raises:
        NotFoundError: in one line, pointing at the school's list.
    """
    student = await session.scalar(
        select(Student).where(
            Student.school_id == school.id, Student.student_number == number.strip()
        )
    )
    if student is None:
        raise NotFoundError(
            f"no student {number.strip()!r} in {school.code} "
            f"(see `heartguard students list --school {school.code}`)"
        )
    return student


async def class_in(session: AsyncSession, school: School, name: str) -> SchoolClass:
    """A class of this school by name; a class of another school is named as such.

    Raises:
        NotFoundError: when the school has no class of that name.
    """
    name = name.strip()
    klass = await session.scalar(
        select(SchoolClass).where(SchoolClass.school_id == school.id, SchoolClass.name == name)
    )
    if klass is not None:
        return klass
    elsewhere = (
        await session.scalars(
            select(School.code)
            .join(SchoolClass, SchoolClass.school_id == School.id)
            .where(SchoolClass.name == name)
            .order_by(School.code)
        )
    ).all()
    hint = f"`heartguard classes list --school {school.code}`"
    if elsewhere:
        raise NotFoundError(
            f"class {name!r} is not in {school.code} but in {', '.join(elsewhere)}: a student "
            f"moves only within their school (see {hint})"
        )
    raise NotFoundError(f"unknown class {name!r} in {school.code} (see {hint})")


@dataclass(frozen=True)
class Move:
    """Where a student was and is now."""

    student_number: str
    name: str
    school: str
    before: str
    after: str
    grade: int
    changed: bool


async def move_student(
    session: AsyncSession,
    *,
    school_ref: str,
    student_number: str,
    class_name: str,
    now: datetime,
    actor: str,
) -> Move:
    """Put a student in another class of their school; their grade becomes the class's."""
    school = await school_by_ref(session, school_ref)
    student = await on_roster(session, school, student_number)
    if student.status == "deleted":
        raise UsageError(
            f"{student.student_number} in {school.code} erased their data on request; "
            "there is nothing to move"
        )
    klass = await class_in(session, school, class_name)
    before = await session.get(SchoolClass, student.class_id) if student.class_id else None
    changed = student.class_id != klass.id or student.grade != klass.grade
    if changed:
        audit(
            session,
            now=now,
            actor=actor,
            action="student_moved",
            subject_type="student",
            subject_id=student.id,
            from_class=student.class_id,
            to_class=klass.id,
            from_grade=student.grade,
            to_grade=klass.grade,
        )
        student.class_id, student.grade = klass.id, klass.grade
    return Move(
        student_number=student.student_number or "",
        name=student.display_name,
        school=school.code,
        before=before.name if before else "-",
        after=klass.name,
        grade=klass.grade,
        changed=changed,
    )


@dataclass(frozen=True)
class Removal:
    """What removing a student did."""

    student_number: str
    name: str
    school: str
    status_before: str
    unused_codes: int
    kept_records: int


async def remove_student(
    session: AsyncSession, *, school_ref: str, student_number: str, now: datetime, actor: str
) -> Removal:
    """Take a student off the roster: deleted outright, or erased with safety records kept.

    A student with an open case (or a case request not yet taken in) is refused: a counselor
    is, or is about to be, trying to reach them, and erasing the chat link would cut the only
    line to a child who may be in danger.
    """
    school = await school_by_ref(session, school_ref)
    student = await on_roster(session, school, student_number)
    ident, number = student.id, student.student_number or ""
    name, status = student.display_name, student.status
    open_case = await session.scalar(
        select(Case).where(Case.student_id == student.id, Case.status.in_(OPEN_STATUSES))
    )
    if open_case is not None:
        raise UsageError(
            f"{number} in {school.code} has an open case {case_number(open_case)}; "
            f"resolve it first (`heartguard cases resolve {case_number(open_case)} "
            "--resolution ...`), then remove the student"
        )
    waiting = await session.scalar(
        select(CaseRequest.id).where(
            CaseRequest.student_id == student.id, CaseRequest.handled_at.is_(None)
        )
    )
    if waiting is not None:
        # The green channel is about to open a case for them: the same rule, a moment early.
        raise UsageError(
            f"{number} in {school.code} has a case about to open (a request the green channel "
            "has not taken in yet); try again in a minute, then resolve the case first"
        )
    unused = int(
        await session.scalar(
            select(func.count(EnrollmentCode.id)).where(
                EnrollmentCode.student_id == student.id, EnrollmentCode.used_at.is_(None)
            )
        )
        or 0
    )
    await session.execute(delete(EnrollmentCode).where(EnrollmentCode.student_id == student.id))
    await students.erase(session, student, now)
    kept = await safety_records(session, ident)
    if kept:
        # Off the roster, but the row stays with the records that point to it (cases show
        # who the student was); the retention job deletes it with the last of them.
        student.student_number = None
        await session.flush()
    else:
        session.expunge(student)
        await session.execute(delete(Student).where(Student.id == ident))
    audit(
        session,
        now=now,
        actor=actor,
        action="student_removed",
        subject_type="student",
        subject_id=ident,
        school=school.id,
        status_before=status,
        unused_codes=unused,
        kept_records=kept,
    )
    return Removal(number, name, school.code, status, unused, kept)


async def safety_records(session: AsyncSession, student_id: int) -> int:
    """How many safety records (assessments, case requests, cases) the student still has."""
    total = 0
    for model in (RiskAssessmentRecord, CaseRequest, Case):
        total += int(
            await session.scalar(
                select(func.count()).select_from(model).where(model.student_id == student_id)
            )
            or 0
        )
    return total
