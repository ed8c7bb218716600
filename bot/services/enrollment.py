"""One-time enrollment codes that link a chat to a roster student.

A code is 10 symbols from a 31-letter alphabet without look-alikes (about 49 bits), shown as
``XXXXX-XXXXX``. Only its SHA-256 is searchable; the code itself is stored encrypted so it can
be exported again for teachers. A code expires, can be used once, and carries the school's
guardian-consent record at the time it was issued.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError, UsageError
from bot.services.admin import audit, school_by_ref
from storage.crypto import DataCipher
from storage.models import EnrollmentCode, School, SchoolClass, Student

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10


def new_code() -> str:
    """A fresh random code, formatted for people."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def canonical(code: str) -> str:
    """Forgiving form of what a student typed: case, spaces, dashes and full width ignored."""
    text = unicodedata.normalize("NFKC", code).upper()
    return "".join(ch for ch in text if ch.isalnum())


def looks_like_code(text: str) -> bool:
    """A typed enrollment or link code: not words, so not for the risk detector.

    Random codes can spell slang by chance (ZS32Z); scanning them would start a screen in
    the middle of onboarding.
    """
    stripped = text.strip()
    if not 8 <= len(stripped) <= 14 or " " in stripped:
        return False
    raw = canonical(stripped)
    return len(raw) == LENGTH and all(ch in ALPHABET for ch in raw)


def code_hash(code: str) -> str:
    """The searchable digest of a code."""
    return hashlib.sha256(canonical(code).encode("ascii", "ignore")).hexdigest()


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
    rows = (await session.execute(query.order_by(SchoolClass.name, Student.student_number))).all()
    if student_number and not rows:
        raise NotFoundError(
            f"no pending student {student_number!r} in {school.code} "
            "(already enrolled? use --include-enrolled)"
        )
    ids = [student.id for student, _ in rows]
    for start in range(0, len(ids), 500):
        await session.execute(
            update(EnrollmentCode)
            .where(
                EnrollmentCode.student_id.in_(ids[start : start + 500]),
                EnrollmentCode.used_at.is_(None),
                EnrollmentCode.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
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
        .order_by(SchoolClass.name, Student.student_number)
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
        for code, student, klass in rows.all()
    ]


def to_csv(codes: list[IssuedCode], tz_name: str) -> str:
    """CSV for teachers, with a UTF-8 BOM so Excel shows Chinese names correctly."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz_name)
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
                item.expires_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return out.getvalue()


class Redemption(enum.StrEnum):
    """What happened to a code a student typed."""

    OK = "ok"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class RedeemResult:
    """The outcome and, when OK, the linked student."""

    outcome: Redemption
    student_id: int | None = None
    guardian_consent: bool = False


async def redeem(session: AsyncSession, code: str, *, now: datetime) -> RedeemResult:
    """Spend a code inside the caller's transaction.

    The update is conditional on the code still being unused, so two chats racing for one code
    cannot both win.
    """
    if not 4 <= len(canonical(code)) <= 32:
        return RedeemResult(Redemption.INVALID)
    row = await session.scalar(
        select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash(code))
    )
    if row is None or row.revoked_at is not None:
        return RedeemResult(Redemption.INVALID)
    if row.used_at is not None:
        return RedeemResult(Redemption.USED)
    if row.expires_at <= now:
        return RedeemResult(Redemption.EXPIRED)
    spent = await session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == row.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now)
        .returning(EnrollmentCode.id)
    )
    if spent.first() is None:
        return RedeemResult(Redemption.USED)
    audit(
        session,
        now=now,
        actor=f"student:{row.student_id}",
        action="code_redeemed",
        subject_type="student",
        subject_id=row.student_id,
    )
    return RedeemResult(Redemption.OK, row.student_id, row.guardian_consent)


def school_zone(school: School) -> str:
    """The school's time zone name."""
    return school.timezone


def check_ttl(ttl: timedelta) -> timedelta:
    """Refuse codes that would never expire or expire at once."""
    if ttl <= timedelta(0) or ttl > timedelta(days=366):
        raise UsageError("--ttl: expected a duration between 1m and 366d")
    return ttl
