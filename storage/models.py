"""The schema, as typed SQLAlchemy 2.x ORM classes.

Student text never sits in a plain column: messages and conversation context are stored as
Fernet ciphertext (``*_enc`` columns), encrypted by the caller with ``storage.crypto``.
Green-channel tables (cases, notifications, duty shifts, hospitals) join this schema in their
own migration and point at ``students.id`` and ``counselors.id``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both backends, always returned in UTC.

    SQLite has no time zone type and hands back naive values; storing UTC and re-attaching it
    on the way out keeps comparisons honest on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class School(Base):
    """A school in the district."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    classes: Mapped[list[SchoolClass]] = relationship(back_populates="school")


class SchoolClass(Base):
    """A class (班级) within a school, with an optional class-wide reminder slot."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int] = mapped_column(Integer)
    reminder_weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reminder_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    school: Mapped[School] = relationship(back_populates="classes")


class Student(Base):
    """A student: enrolled from the school roster, or anonymous when config allows it."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("school_id", "student_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("classes.id", ondelete="SET NULL"), nullable=True, index=True
    )
    student_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    display_name: Mapped[str] = mapped_column(String(100))
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    # None: nothing has decided the language yet; "detected": the script of the student's
    # first message with letters did; "chosen": the student picked it (that always wins).
    language_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Finished onboarding; anonymous = chose to go on without a code (when config allows);
    # age_group = what an anonymous student said about their age ("under_age" / "of_age").
    onboarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    age_group: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reminder_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reminder_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # active: enrolled and reachable; pending: on the roster, not yet linked to a chat;
    # unreachable: the channel refused delivery (blocked the bot); deleted: erased on request.
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="student")


class ChannelIdentity(Base):
    """A chat identity (Telegram user, console name) linked to a student."""

    __tablename__ = "student_channels"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Token of the latest question shown with buttons in this chat: a press on an older
    # keyboard is stale, even when its option keys would fit the current question.
    prompt: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    student: Mapped[Student] = relationship(back_populates="identities")


class EnrollmentCode(Base):
    """A one-time code that links a chat to a roster student.

    Only a SHA-256 of the code is searchable; the code itself is kept encrypted so that
    teachers can export it again to hand out.
    """

    __tablename__ = "enrollment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_enc: Mapped[bytes] = mapped_column(LargeBinary)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Counselor(Base):
    """A school counselor, district crisis-team member or hospital liaison."""

    __tablename__ = "counselors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    # school: sees its own schools' cases; district: sees every school's.
    scope: Mapped[str] = mapped_column(String(16), default="school")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    schools: Mapped[list[CounselorSchool]] = relationship(cascade="all, delete-orphan")
    contacts: Mapped[list[CounselorContact]] = relationship(
        cascade="all, delete-orphan", order_by="CounselorContact.rank"
    )


class CounselorLinkCode(Base):
    """A one-time code a counselor sends to the bot to link their chat (``/link CODE``).

    Only a SHA-256 of the code is stored: unlike enrollment codes, it is never exported again.
    """

    __tablename__ = "counselor_link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CounselorSchool(Base):
    """Which schools a school-scoped counselor covers."""

    __tablename__ = "counselor_schools"

    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )


class CounselorContact(Base):
    """One way to reach a counselor, tried in rank order."""

    __tablename__ = "counselor_contacts"
    __table_args__ = (
        UniqueConstraint("counselor_id", "channel", "address"),
        # Who is writing? A chat is a counselor's when a contact has its address.
        Index("ix_counselor_contacts_channel_address", "channel", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """One chat message in or out; the text is ciphertext.

    The pipeline stores every inbound message. The web chat and WeChat also store every line
    they show a student (``direction`` "out": the bot's replies, reminders, later a
    counselor's words), so a reload shows the conversation and any process can deliver it.
    ``sender`` says who wrote an outbound line ("bot" or "counselor"); ``extra_enc`` holds a
    line's encrypted details as JSON (answer buttons and their prompt, a pressed button's
    label, a file).
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_student_created", "student_id", "created_at"),
        # One student's newest messages by id (a chat page reads the lines after the last one
        # it showed; the console reads a conversation's tail): an index in that order.
        Index("ix_messages_student_id_id", "student_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    channel: Mapped[str] = mapped_column(String(16))
    channel_chat_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sender: Mapped[str | None] = mapped_column(String(16), nullable=True)
    extra_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskAssessmentRecord(Base):
    """The detector's verdict on one inbound message. Evidence holds offsets, not text."""

    __tablename__ = "risk_assessments"
    # The weekly reports count one week's detector flags.
    __table_args__ = (Index("ix_risk_assessments_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept when the message text is erased on request (/delete): a safety record.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(16), index=True)
    categories: Mapped[list[str]] = mapped_column(Json, default=list)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    detector_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    message: Mapped[Message | None] = relationship()


class Conversation(Base):
    """Where a student is in which flow. Context may hold free text, so it is encrypted."""

    __tablename__ = "conversations"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(64))
    context_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The detector's state of this conversation (lexicons.conversation), encrypted.
    risk_state_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckinResult(Base):
    """A scored screening instrument."""

    __tablename__ = "checkin_results"
    __table_args__ = (
        Index("ix_checkin_results_student_created", "student_id", "created_at"),
        # The weekly reports read one week of every school's check-ins.
        Index("ix_checkin_results_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(16))
    answers: Mapped[list[int | None]] = mapped_column(Json, default=list)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    band: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Append-only log of who did what. Details carry ids, never student text."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class CaseRequest(Base):
    """A request for the green channel, recorded in the same transaction as its message.

    The green channel turns these into cases; until it does, they wait here and are never
    dropped. ``handled_at`` is set when a case has taken the request in.
    """

    __tablename__ = "case_requests"
    __table_args__ = (Index("ix_case_requests_pending", "handled_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    priority: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(Json, default=list)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_assessments.id", ondelete="SET NULL"), nullable=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Intake that failed for this request alone: how often, when to try again, and the
    # exception's type (never its text). The auditor reports a request left waiting.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(64), nullable=True)

    assessment: Mapped[RiskAssessmentRecord | None] = relationship()


class SafetyPlan(Base):
    """A student's Stanley–Brown safety plan, in their own words, so encrypted."""

    __tablename__ = "safety_plans"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    plan_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Green channel -----------------------------------------------------------------------


class Case(Base):
    """A green-channel case: one open case per student at most (a partial unique index).

    ``chain`` is the escalation policy snapshotted when the case opened (or was raised), so
    later policy edits never change a case in flight. ``token`` changes whenever escalation
    restarts or stops (acknowledged, raised, reopened): a step computed for an older token is
    stale and does nothing.
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_one_open_per_student",
            "student_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'acknowledged', 'in_progress', 'referred')"),
            postgresql_where=text("status IN ('open', 'acknowledged', 'in_progress', 'referred')"),
        ),
        Index("ix_cases_due", "status", "next_step_at"),
        # Caring contacts: cases closed in the last few weeks.
        Index("ix_cases_status_closed_at", "status", "closed_at"),
        # Missed check-ins: students with a recent case.
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_student_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="RESTRICT"))
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="SET NULL"), nullable=True, index=True
    )
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list[str]] = mapped_column(Json, default=list)
    chain: Mapped[dict[str, Any]] = mapped_column(Json)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    token: Mapped[int] = mapped_column(Integer, default=1)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Steps that failed in a row (a "step_failed" event each); the auditor alarms at a few.
    step_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ack_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("counselors.id", ondelete="SET NULL"), nullable=True
    )
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    referred_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_assessments.id", ondelete="SET NULL"), nullable=True
    )
    # What the student asked for in /talk (codes: preferred_time, preferred_channel).
    wishes: Mapped[dict[str, str] | None] = mapped_column(Json, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseEvent(Base):
    """Append-only audit trail of a case: every change and every read by a counselor."""

    __tablename__ = "case_events"
    # The auditor looks for recent events of one action.
    __table_args__ = (Index("ix_case_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # What a counselor typed (a note), as ciphertext like messages; details hold codes only.
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    # Lets an event be recorded for a case not yet flushed (no id yet), so a batch of new
    # cases and their events goes to the database in one flush.
    case: Mapped[Case] = relationship()


class Hospital(Base):
    """A referral hospital and the channel that reaches its crisis desk."""

    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    """The outbox: one row per message to one recipient over one channel.

    pending → sending → sent | failed → … → dead. ``lease_until`` bounds a send: a row still
    ``sending`` after it was claimed by a worker that crashed, and is retried.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    recipient_type: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[int] = mapped_column(Integer)
    contact_rank: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    tier: Mapped[str] = mapped_column(String(16))
    token: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DutyShift(Base):
    """A weekly on-duty window, in the school's (or the district's) local time."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), index=True
    )
    tier: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), nullable=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DutyOverride(Base):
    """A date exception: a counselor off duty (a holiday) or on duty outside their shifts."""

    __tablename__ = "duty_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), nullable=True
    )
    start_minute: Mapped[int] = mapped_column(Integer, default=0)
    end_minute: Mapped[int] = mapped_column(Integer, default=1440)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReminderDelivery(Base):
    """One reminder to one student for one slot; the unique key is the claim.

    A process that inserts the row owns the send; every other process skips it. Status:
    claimed → sending → sent | failed | unreachable; a row left "sending" by a crash is not
    sent again (a reminder is better missed once than sent twice).
    """

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("student_id", "slot"),
        # Nudges: weekly reminders sent a day ago.
        Index("ix_reminder_deliveries_kind_status_sent", "kind", "status", "sent_at"),
        # Missed check-ins: one student's latest weekly reminders.
        Index(
            "ix_reminder_deliveries_student_kind_status_sent",
            "student_id",
            "kind",
            "status",
            "sent_at",
        ),
        # Orphaned claims, by age.
        Index("ix_reminder_deliveries_status_claimed", "status", "claimed_at"),
        Index("ix_reminder_deliveries_slot", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    slot: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)


# --- Takeover and counselor access ---------------------------------------------------------


class ConversationOwner(Base):
    """Who owns a student's conversation (escalation.takeover): no row means the bot.

    ``due_at`` is when a counselor who holds the chat is next due to have answered: past it,
    they and the tier above are paged again (state ``quiet``), then the bot resumes.
    """

    __tablename__ = "conversation_owners"
    __table_args__ = (Index("ix_conversation_owners_due", "state", "due_at"),)

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    counselor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counselors.id", ondelete="SET NULL"), nullable=True, index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for the integration API, acting as its counselor; only a hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CounselorLogin(Base):
    """A counselor's console sign-in: an Argon2 hash and, optionally, a TOTP secret (encrypted)."""

    __tablename__ = "counselor_logins"

    counselor_id: Mapped[int] = mapped_column(
        ForeignKey("counselors.id", ondelete="CASCADE"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed sign-ins per key ("counselor:3", "source:203.0.113.9") in the current window."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- The district's view: check-in starts, counselor feedback, weekly report deliveries ----


class CheckinStart(Base):
    """A student entered the weekly check-in (the report's "started"; no answers, no text)."""

    __tablename__ = "checkin_starts"
    __table_args__ = (Index("ix_checkin_starts_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertMark(Base):
    """A counselor's verdict on a case's alert: "confirmed" risk or a "false_alarm".

    One per case (a later mark replaces it; both are case events). The detector's level,
    categories and version are copied from the assessment when marked, so the feedback
    outlives the assessment's retention and says which detector it judges.
    """

    __tablename__ = "alert_marks"
    __table_args__ = (Index("ix_alert_marks_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_assessments.id", ondelete="SET NULL"), nullable=True
    )
    counselor_id: Mapped[int | None] = mapped_column(
        ForeignKey("counselors.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(64))
    mark: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    categories: Mapped[list[str]] = mapped_column(Json, default=list)
    detector_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportDelivery(Base):
    """One weekly report sent (or skipped) for one scope and week; the unique key is the claim.

    ``scope`` is "district" or "school:<id>"; ``week`` is the ISO week reported on
    ("2026-W49"). The process that inserts the row sends the report; the console shows the
    row as a notice.
    """

    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("scope", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    week: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class DataKeyCheck(Base):
    """Fingerprints of the data keys this database was written with: one "current", the
    rest "retired" by ``heartguard db rotate-key``. A process compares its own keys at start
    and refuses a wrong or stale one (see ``storage.keycheck``).
    """

    __tablename__ = "data_key_checks"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- Web and WeChat -------------------------------------------------------------------------


class WebSession(Base):
    """A signed-in browser: a student on the chat page (later a counselor on the console).

    Only a SHA-256 of the cookie's token is stored, so a copy of the database opens no
    session. ``subject`` is who the session is: a student's chat identity (its external id on
    the "web" channel). ``expires_at`` slides forward with use; ``ended_at`` is a sign-out.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WeChatReceipt(Base):
    """One message WeChat delivered, by its MsgId: WeChat retries, we answer once.

    The row is inserted before the message is handled, so a retry (or a replay) finds it and
    is not handled again; the passive reply is kept, encrypted, for a retry to repeat.
    """

    __tablename__ = "wechat_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="handling")
    reply_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WeChatWindow(Base):
    """A WeChat chat's customer-service window: the student's last message, and sends since.

    A send takes a slot with one conditional UPDATE, so several processes never exceed the
    five messages WeChat allows within 48 hours of the student's last message.
    """

    __tablename__ = "wechat_windows"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("student_channels.id", ondelete="CASCADE"), primary_key=True
    )
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_since: Mapped[int] = mapped_column(Integer, default=0)
