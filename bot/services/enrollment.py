"""One-time enrollment codes that link a chat to a roster student.

The code logic is shared with counselor link codes (``one_time_codes``). An enrollment code is
also stored encrypted, so it can be exported again for teachers, and it carries the school's
guardian-consent record at the time it was issued.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError
from bot.services.admin import school_by_ref
from bot.services.one_time_codes import (
    Redemption,
    code_hash,
    new_code,
    revoke_unused,
    spend,
)
from bot.services.roster_order import roster_key
from core.clock import local_text
from storage.audit import audit
from storage.crypto import DataCipher
from storage.models import EnrollmentCode, SchoolClass, Student


@dataclass(frozen=True)
class IssuedCode:
    """A code as handed to a teacher."""

    code: str
    school: str
    class_name: str
    student_number: str
    name: str
    expires_at: datetime


async def issue_codes(
    session: AsyncSession,
    cipher: DataCipher,
    *,
    school_ref: str,
    class_name: str | None,
    student_number: str | None,
    ttl: timedelta,
    now: datetime,
    actor: str,
    include_enrolled: bool = False,
) -> list[IssuedCode]:
    """Issue a fresh code for one student, a class, or a whole school.

    Students already linked to a chat are skipped unless ``include_enrolled``. Older unused
    codes for the same students are revoked, so only the newest handout works.
    """
    school = await school_by_ref(session, school_ref)
    query = (
        select(Student, SchoolClass.name)
        .join(SchoolClass, Student.class_id == SchoolClass.id, isouter=True)
        .where(Student.school_id == school.id, Student.status != "deleted")
    )
    if class_name:
        klass = await session.scalar(
            select(SchoolClass).where(
                SchoolClass.school_id == school.id, SchoolClass.name == class_name
            )
        )
        if klass is None:
            raise NotFoundError(f"unknown class {class_name!r} in {school.code}")
        query = query.where(Student.class_id == klass.id)
    if student_number:
        query = query.where(Student.student_number == student_number)
    if not include_enrolled:
        query = query.where(Student.status == "pending")
    rows = sorted(
        (await session.execute(query)).all(),
        key=lambda row: roster_key(row[0].grade, row[1], row[0].student_number),
    )
    if student_number and not rows:
        raise NotFoundError(
            f"no pending student {student_number!r} in {school.code} "
            "(already enrolled? use --include-enrolled)"
        )
    ids = [student.id for student, _ in rows]
    await revoke_unused(session, EnrollmentCode, EnrollmentCode.student_id, ids, now)
    issued = []
    expires = now + ttl
    for student, klass_name in rows:
        code = new_code()
        session.add(
            EnrollmentCode(
                code_hash=code_hash(code),
                code_enc=cipher.encrypt(code),
                student_id=student.id,
                guardian_consent=student.guardian_consent,
                expires_at=expires,
                created_at=now,
            )
        )
        issued.append(
            IssuedCode(
                code,
                school.code,
                klass_name or "",
                student.student_number or "",
                student.display_name,
                expires,
            )
        )
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="codes_issued",
        subject_type="school",
        subject_id=school.id,
        count=len(issued),
    )
    return issued


async def unused_codes(
    session: AsyncSession, cipher: DataCipher, *, school_ref: str, now: datetime
) -> list[IssuedCode]:
    """Every live (unused, unexpired, unrevoked) code of a school, for re-export."""
    school = await school_by_ref(session, school_ref)
    rows = await session.execute(
        select(EnrollmentCode, Student, SchoolClass.name)
        .join(Student, EnrollmentCode.student_id == Student.id)
        .join(SchoolClass, Student.class_id == SchoolClass.id, isouter=True)
        .where(
            Student.school_id == school.id,
            EnrollmentCode.used_at.is_(None),
            EnrollmentCode.revoked_at.is_(None),
            EnrollmentCode.expires_at > now,
        )
    )
    ordered = sorted(
        rows.all(), key=lambda row: roster_key(row[1].grade, row[2], row[1].student_number)
    )
    return [
        IssuedCode(
            cipher.decrypt(code.code_enc),
            school.code,
            klass or "",
            student.student_number or "",
            student.display_name,
            code.expires_at,
        )
        for code, student, klass in ordered
    ]


def to_csv(codes: list[IssuedCode], tz_name: str) -> str:
    """CSV for teachers, with a UTF-8 BOM so Excel shows Chinese names correctly.

    Expiry is the school's local time with its offset and zone, as everywhere a person reads.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["school", "class", "student_number", "name", "code", "expires"])
    for item in codes:
        writer.writerow(
            [
                item.school,
                item.class_name,
                item.student_number,
                item.name,
                item.code,
                local_text(item.expires_at, tz_name),
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class RedeemResult:
    """The outcome and, when OK, the linked student."""

    outcome: Redemption
    student_id: int | None = None
    guardian_consent: bool = False


async def redeem(session: AsyncSession, code: str, *, now: datetime) -> RedeemResult:
    """Spend a code inside the caller's transaction."""
    outcome, row = await spend(session, EnrollmentCode, code, now)
    if row is None:
        return RedeemResult(outcome)
    audit(
        session,
        now=now,
        actor=f"student:{row.student_id}",
        action="code_redeemed",
        subject_type="student",
        subject_id=row.student_id,
    )
    return RedeemResult(Redemption.OK, row.student_id, row.guardian_consent)
