"""Student records as the pipeline sees them: identity, profile, linking, export, erasure."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows import StudentProfile
from storage.audit import audit
from storage.crypto import DataCipher
from storage.models import (
    CaseRequest,
    ChannelIdentity,
    CheckinResult,
    CheckinStart,
    Conversation,
    ConversationOwner,
    Message,
    RiskAssessmentRecord,
    SafetyPlan,
    School,
    SchoolClass,
    Student,
)

log = logging.getLogger(__name__)
ANONYMOUS_NAME = "匿名同学"
WINDOW = 5
# A lone UTF-16 surrogate: Python keeps one from JSON ("\ud800") and stores it (the cipher
# passes it through), but no UTF-8 file can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """Text any UTF-8 file can hold: lone surrogates become U+FFFD (�), nothing else changes."""
    return _SURROGATE.sub("\ufffd", text)


# Built once: constructing this statement cost more than running it (every message asks).
_LAST_SCREEN = (
    select(func.max(CheckinResult.created_at))
    .where(CheckinResult.student_id == Student.id, CheckinResult.instrument == "asq")
    .correlate(Student)
    .scalar_subquery()
)
# Whether the student's conversation has an ownership row at all: most never had a counselor,
# and for them the pipeline skips the locked ownership read (no row, nothing to lock).
_HAS_OWNER = exists().where(ConversationOwner.student_id == Student.id).correlate(Student)
_OPEN_CHAT = (
    select(
        Student,
        ChannelIdentity.prompt,
        Conversation.student_id,
        Conversation.context_enc,
        Conversation.risk_state_enc,
        SafetyPlan.plan_enc,
        _LAST_SCREEN,
        _HAS_OWNER,
    )
    .join(ChannelIdentity, ChannelIdentity.student_id == Student.id)
    .outerjoin(Conversation, Conversation.student_id == Student.id)
    .outerjoin(SafetyPlan, SafetyPlan.student_id == Student.id)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
    .with_for_update(of=Student)
)


@dataclass(frozen=True)
class SavedConversation:
    """A conversation row as read with the chat: plain values, written back with Core.

    Not an ORM object: the pipeline updates the row in one statement, so nothing of it waits
    in the session's unit of work.
    """

    student_id: int
    context_enc: bytes | None
    risk_state_enc: bytes | None


@dataclass
class Chat:
    """The student behind a chat identity, as one message's step needs them."""

    student: Student
    # The question the chat's buttons answer now (the identity's ``prompt``); the identity
    # itself is not loaded as an object, since the step only reads this.
    prompt: str | None
    conversation: SavedConversation | None
    plan_token: bytes | None
    # When the student last took the ASQ screen (the grey zone asks at most so often).
    last_screened_at: datetime | None = None
    # Whether an ownership row existed when the chat was opened (see ``_HAS_OWNER``).
    owner_row: bool = True


async def open_chat(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    chat_id: str | None,
    now: datetime,
    create: bool = True,
) -> Chat | None:
    """The student, identity, conversation and safety plan behind a chat, in one query.

    The student row is locked (on PostgreSQL; SQLite's write transaction already holds the
    database) so two processes never step one student at once, first message included. An
    unknown identity gets a new, unlinked student, unless ``create`` is off (then None).
    """
    found = (
        await session.execute(_OPEN_CHAT, {"channel": channel, "external_id": external_id})
    ).first()
    if found is not None:
        student, prompt, saved_id, context, risk, plan, screened, owned = found
        saved = None if saved_id is None else SavedConversation(saved_id, context, risk)
        return Chat(student, prompt, saved, plan, screened, bool(owned))
    if not create:
        return None
    student = Student(display_name=ANONYMOUS_NAME, status="unlinked", created_at=now)
    session.add(student)
    await session.flush()
    identity = ChannelIdentity(
        student_id=student.id,
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        created_at=now,
    )
    session.add(identity)
    await session.flush()
    return Chat(student, None, None, None, owner_row=False)


async def link_to_roster(session: AsyncSession, chat_student: Student, roster_id: int) -> Student:
    """Move a chat's identity and history onto the roster student its code belongs to."""
    roster = await session.get(Student, roster_id)
    if roster is None:
        raise LookupError(f"roster student {roster_id} vanished")
    if roster.id == chat_student.id:
        return roster
    for model in (Message, RiskAssessmentRecord, CaseRequest, CheckinResult, CheckinStart):
        await session.execute(
            update(model).where(model.student_id == chat_student.id).values(student_id=roster.id)
        )
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.student_id == chat_student.id)
        .values(student_id=roster.id)
    )
    # The pipeline stores the conversation afresh under the roster student after this step.
    await session.execute(
        delete(Conversation).where(Conversation.student_id.in_((chat_student.id, roster.id)))
    )
    roster.language = chat_student.language
    roster.language_source = chat_student.language_source
    roster.consent_at = chat_student.consent_at
    roster.status = "active"
    await session.flush()
    session.expunge(chat_student)
    await session.execute(delete(Student).where(Student.id == chat_student.id))
    return roster


async def mark_unreachable(
    session: AsyncSession, student_id: int, now: datetime, *, why: str
) -> bool:
    """An active student whose channel refused delivery (they blocked the bot).

    Their counselor sees the status; the next message they send makes them active again.
    Returns whether the status changed.
    """
    student = await session.get(Student, student_id)
    if student is None or student.status != "active":
        return False
    student.status = "unreachable"
    audit(
        session,
        now=now,
        actor="system",
        action="student_unreachable",
        subject_type="student",
        subject_id=student_id,
        why=why,
    )
    return True


def mark_reachable(session: AsyncSession, student: Student, now: datetime) -> bool:
    """A student marked unreachable wrote to us again: they can be reached once more."""
    if student.status != "unreachable":
        return False
    student.status = "active"
    audit(
        session,
        now=now,
        actor="system",
        action="student_reachable",
        subject_type="student",
        subject_id=student.id,
    )
    return True


def age_of(student: Student, now: datetime) -> int | None:
    """Age in years from the roster's birth year, when the school gave one."""
    if student.birth_year is None:
        return None
    return max(0, now.year - student.birth_year - 1)


def decode_plan(cipher: DataCipher, token: bytes | None) -> dict[str, str] | None:
    """A stored safety plan, decrypted."""
    if token is None:
        return None
    try:
        decoded = json.loads(cipher.decrypt(token))
    except InvalidToken:
        log.warning("a safety plan cannot be decrypted; the step goes on without it")
        return None
    return {str(k): str(v) for k, v in decoded.items()}


def profile_of(
    student: Student,
    plan: dict[str, str] | None,
    *,
    anonymous_allowed: bool,
    now: datetime,
    last_screened_at: datetime | None = None,
) -> StudentProfile:
    """What the flows need to know about the student."""
    return StudentProfile(
        language="en" if student.language == "en" else "zh",
        grade=student.grade,
        age=age_of(student, now),
        enrolled=student.school_id is not None,
        guardian_consent=student.guardian_consent,
        anonymous_allowed=anonymous_allowed,
        onboarded=student.onboarded,
        age_group=student.age_group if student.age_group in ("under_age", "of_age") else None,  # type: ignore[arg-type]
        safety_plan=plan,
        last_screened_at=last_screened_at,
    )


async def export(session: AsyncSession, cipher: DataCipher, student: Student) -> dict[str, Any]:
    """Everything HeartGuard holds about the student, readable, for /mydata."""
    school = await session.get(School, student.school_id) if student.school_id else None
    klass = await session.get(SchoolClass, student.class_id) if student.class_id else None
    messages = (
        await session.scalars(
            select(Message).where(Message.student_id == student.id).order_by(Message.id)
        )
    ).all()
    results = (
        await session.scalars(
            select(CheckinResult)
            .where(CheckinResult.student_id == student.id)
            .order_by(CheckinResult.id)
        )
    ).all()
    plan = await session.get(SafetyPlan, student.id)
    return {
        "student": {
            "name": student.display_name,
            "school": school.name if school else None,
            "class": klass.name if klass else None,
            "grade": student.grade,
            "language": student.language,
            "consent_at": student.consent_at.isoformat() if student.consent_at else None,
            "reminders": {
                "enabled": student.reminder_opt_in,
                "weekday": student.reminder_weekday,
                "minute": student.reminder_minute,
            },
        },
        "messages": [
            {
                "at": m.created_at.isoformat(),
                "direction": m.direction,
                "kind": m.kind,
                "text": printable(cipher.decrypt(m.text_enc)) if m.text_enc else None,
            }
            for m in messages
        ],
        "checkins": [
            {
                "at": r.created_at.isoformat(),
                "instrument": r.instrument,
                "answers": r.answers,
                "score": r.score,
                "band": r.band,
            }
            for r in results
        ],
        "safety_plan": json.loads(printable(cipher.decrypt(plan.plan_enc))) if plan else None,
    }


async def erase(session: AsyncSession, student: Student, now: datetime) -> None:
    """Erase the student's data on request; safety records stay for the retention period.

    Messages, check-ins, the safety plan, the conversation, the chat link and the verdicts on
    everyday messages go. Safety records (risk assessments at moderate or above: levels and
    offsets, no text; case requests; cases) stay, tied to the student id, until the retention
    period ends, when the daily retention job (``bot/services/retention.py``) deletes them.
    """
    for model in (
        Message,
        CheckinResult,
        CheckinStart,
        SafetyPlan,
        Conversation,
        ChannelIdentity,
    ):
        await session.execute(delete(model).where(model.student_id == student.id))
    # Verdicts on everyday messages are no safety record: they go with the messages.
    await session.execute(
        delete(RiskAssessmentRecord).where(
            RiskAssessmentRecord.student_id == student.id,
            RiskAssessmentRecord.level.in_(("none", "low")),
            ~exists().where(CaseRequest.assessment_id == RiskAssessmentRecord.id),
        )
    )
    student.status = "deleted"
    student.reminder_opt_in = False
    student.consent_at = None
    student.onboarded = False
    if student.school_id is None:
        student.display_name = ANONYMOUS_NAME
    await session.flush()
