"""Administrator use cases: schools, classes and counselors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError, UsageError
from bot.services.contacts import CONTACT_CHANNELS, check_contact
from bot.translation import _
from storage.audit import audit
from storage.models import (
    Counselor,
    CounselorContact,
    CounselorSchool,
    School,
    SchoolClass,
    Student,
)

ROLES = ("school_counselor", "district_crisis", "hospital_liaison", "admin")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


async def school_by_ref(session: AsyncSession, ref: str) -> School:
    """Find a school by its code or exact name.

    Raises:
        NotFoundError: naming the reference.
    """
    school = await session.scalar(select(School).where(School.code == ref.strip()))
    if school is None:
        school = await session.scalar(select(School).where(School.name == ref.strip()))
    if school is None:
        raise NotFoundError(
            _("unknown school {ref!r} (see `heartguard schools list`)").format(ref=ref)
        )
    return school


async def add_school(
    session: AsyncSession, *, code: str, name: str, timezone: str, now: datetime, actor: str
) -> School:
    """Create a school with a short unique code."""
    if not _CODE.match(code):
        raise UsageError(_("school code: expected 1-32 letters, digits, '-' or '_'"))
    if not name.strip():
        raise UsageError(_("school name: must not be empty"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            _('timezone: expected an IANA zone like "Asia/Shanghai", got {timezone!r}').format(
                timezone=timezone
            )
        ) from None
    if await session.scalar(select(School.id).where(School.code == code)) is not None:
        raise UsageError(_("school code {code!r} already exists").format(code=code))
    school = School(code=code, name=name.strip(), timezone=timezone, created_at=now)
    session.add(school)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="school_added",
        subject_type="school",
        subject_id=school.id,
    )
    return school


async def add_class(
    session: AsyncSession, *, school_ref: str, name: str, grade: int, now: datetime, actor: str
) -> SchoolClass:
    """Create a class in a school."""
    if not 1 <= grade <= 12:
        raise UsageError(_("grade: expected a number from 1 to 12"))
    if not name.strip():
        raise UsageError(_("class name: must not be empty"))
    school = await school_by_ref(session, school_ref)
    existing = await session.scalar(
        select(SchoolClass.id).where(
            SchoolClass.school_id == school.id, SchoolClass.name == name.strip()
        )
    )
    if existing is not None:
        raise UsageError(
            _("class {name!r} already exists in {code}").format(name=name, code=school.code)
        )
    klass = SchoolClass(school_id=school.id, name=name.strip(), grade=grade, created_at=now)
    session.add(klass)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="class_added",
        subject_type="class",
        subject_id=klass.id,
    )
    return klass


def _check_removal(channel: str, address: str) -> None:
    # Not checked by format: a contact stored before formats were checked can still go.
    if channel not in CONTACT_CHANNELS:
        raise UsageError(
            _("--remove: expected a channel of {value}").format(value=", ".join(CONTACT_CHANNELS))
        )
    if not address.strip():
        raise UsageError(
            _("--remove {channel}: the address must not be empty").format(channel=channel)
        )


async def add_counselor(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    school_refs: list[str],
    contacts: list[tuple[str, str]],
    now: datetime,
    actor: str,
) -> Counselor:
    """Create a counselor with their schools and contact channels (in preference order)."""
    if role not in ROLES:
        raise UsageError(_("role: expected one of {value}").format(value=", ".join(ROLES)))
    if not name.strip():
        raise UsageError(_("counselor name: must not be empty"))
    scope = "school" if role == "school_counselor" else "district"
    if scope == "school" and not school_refs:
        raise UsageError(_("a school counselor needs at least one --school"))
    checked = [(channel, check_contact(channel, address)) for channel, address in contacts]
    counselor = Counselor(name=name.strip(), role=role, scope=scope, created_at=now)
    for ref in school_refs:
        school = await school_by_ref(session, ref)
        counselor.schools.append(CounselorSchool(school_id=school.id))
    for rank, (channel, address) in enumerate(checked):
        counselor.contacts.append(CounselorContact(channel=channel, address=address, rank=rank))
    session.add(counselor)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="counselor_added",
        subject_type="counselor",
        subject_id=counselor.id,
    )
    return counselor


async def counselor_by_id(session: AsyncSession, counselor_id: int) -> Counselor:
    """A counselor with their contacts loaded, or a one-line error."""
    counselor = await session.get(Counselor, counselor_id)
    if counselor is None:
        raise UsageError(
            _("no counselor #{counselor_id} (see `heartguard counselors list`)").format(
                counselor_id=counselor_id
            )
        )
    await session.refresh(counselor, ["contacts"])
    return counselor


async def set_counselor_active(
    session: AsyncSession, counselor_id: int, *, active: bool, now: datetime, actor: str
) -> Counselor:
    """Take a counselor off (or back on) the green channel.

    An inactive counselor is never paged and loses the Telegram desk at once; their case
    history stays.
    """
    counselor = await counselor_by_id(session, counselor_id)
    if counselor.active != active:
        counselor.active = active
        audit(
            session,
            now=now,
            actor=actor,
            action="counselor_reactivated" if active else "counselor_deactivated",
            subject_type="counselor",
            subject_id=counselor.id,
        )
    return counselor


async def change_contacts(
    session: AsyncSession,
    counselor_id: int,
    *,
    add: list[tuple[str, str]],
    remove: list[tuple[str, str]],
    first: bool,
    now: datetime,
    actor: str,
) -> list[tuple[str, str]]:
    """Add and remove a counselor's contacts; returns them in the order they are tried.

    New contacts go last (or first with ``first``); removing one that is not there is an
    error, so a typo never passes silently.
    """
    counselor = await counselor_by_id(session, counselor_id)
    add = [(channel, check_contact(channel, address)) for channel, address in add]
    for channel, address in remove:
        _check_removal(channel, address)
    kept = sorted(counselor.contacts, key=lambda c: c.rank)
    for channel, address in remove:
        match = [c for c in kept if (c.channel, c.address) == (channel, address.strip())]
        if not match:
            raise UsageError(
                _("counselor #{counselor_id} has no {channel} contact {address!r}").format(
                    counselor_id=counselor_id, channel=channel, address=address
                )
            )
        for contact in match:
            kept.remove(contact)
            await session.delete(contact)
    known = {(c.channel, c.address) for c in kept}
    fresh = [
        CounselorContact(counselor_id=counselor.id, channel=channel, address=address.strip())
        for channel, address in add
        if (channel, address.strip()) not in known
    ]
    ordered = [*fresh, *kept] if first else [*kept, *fresh]
    await session.flush()  # deletions first: (counselor, channel, address) is unique
    for rank, contact in enumerate(ordered):
        contact.rank = rank
        if contact in fresh:
            session.add(contact)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="counselor_contacts_changed",
        subject_type="counselor",
        subject_id=counselor.id,
        added=len(fresh),
        removed=len(remove),
    )
    return [(c.channel, c.address) for c in ordered]


@dataclass(frozen=True)
class SchoolRow:
    """A school with head counts, for listing."""

    code: str
    name: str
    timezone: str
    classes: int
    students: int


async def list_schools(session: AsyncSession) -> list[SchoolRow]:
    """Every school with its class and student counts."""
    classes = (
        select(func.count(SchoolClass.id)).where(SchoolClass.school_id == School.id)
    ).scalar_subquery()
    students = (
        select(func.count(Student.id)).where(
            Student.school_id == School.id, Student.student_number.is_not(None)
        )
    ).scalar_subquery()
    rows = await session.execute(
        select(School.code, School.name, School.timezone, classes, students).order_by(School.code)
    )
    return [SchoolRow(*row) for row in rows.all()]


async def list_classes(session: AsyncSession, school_ref: str | None) -> list[tuple[str, str, int]]:
    """(school code, class name, grade) for every class, optionally of one school."""
    query = select(School.code, SchoolClass.name, SchoolClass.grade).join(SchoolClass.school)
    if school_ref:
        school = await school_by_ref(session, school_ref)
        query = query.where(School.id == school.id)
    rows = await session.execute(query.order_by(School.code, SchoolClass.grade, SchoolClass.name))
    return [(code, name, grade) for code, name, grade in rows.all()]


async def list_counselors(session: AsyncSession) -> list[tuple[int, str, str, str, str]]:
    """(id, name, role, schools, channels) for every counselor."""
    counselors = (await session.scalars(select(Counselor).order_by(Counselor.id))).all()
    codes = dict((await session.execute(select(School.id, School.code))).all())
    out = []
    for counselor in counselors:
        await session.refresh(counselor, ["schools", "contacts"])
        schools = ",".join(codes[s.school_id] for s in counselor.schools) or "(district)"
        channels = ",".join(c.channel for c in counselor.contacts) or "-"
        if not counselor.active:
            channels += "\tinactive"
        out.append((counselor.id, counselor.name, counselor.role, schools, channels))
    return out


async def record_guardian_consent(
    session: AsyncSession,
    *,
    school_ref: str,
    student_number: str,
    consent: bool,
    now: datetime,
    actor: str,
) -> Student:
    """Record (or withdraw) a guardian's consent that arrived after the roster import.

    The student's record is what the flows read on every message and what codes issued
    later carry; a code issued before never overrides it (see ``flow_effects._code``).
    """
    school = await school_by_ref(session, school_ref)
    student = await session.scalar(
        select(Student).where(
            Student.school_id == school.id,
            Student.student_number == student_number.strip(),
            Student.status != "deleted",
        )
    )
    if student is None:
        raise NotFoundError(
            _(
                "no student {student_number!r} in {code} "
                "(see `heartguard students list --school {code}`)"
            ).format(student_number=student_number, code=school.code)
        )
    if student.guardian_consent != consent:
        student.guardian_consent = consent
        audit(
            session,
            now=now,
            actor=actor,
            action="guardian_consent_recorded" if consent else "guardian_consent_withdrawn",
            subject_type="student",
            subject_id=student.id,
        )
    return student
