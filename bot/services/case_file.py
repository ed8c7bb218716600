"""A case as the console and the integration API show it: one read, scope-checked and recorded.

Builds on :class:`~bot.services.counselor_desk.CounselorDesk` (the case, its timeline, who
holds the chat; the view is recorded there) and adds what a person at a desk needs beside it:
the student's school, class, grade and scores, their ``/talk`` wishes, the conversation
(decrypted: reading it writes its own "viewed" event on the case), the detector's assessments
with the words that set them off, and every alert with whom it paged.

Nothing here logs a student's words; they live in the returned objects only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.case_refs import MAX_ID
from bot.services.counselor_desk import CaseSubject, CaseView, CounselorDesk, Who, case_subject
from bot.services.transcript import SHOWN_CHANNELS
from core.clock import Clock
from escalation.actions import Actor, CaseActionError, NotAllowedError, can_see
from escalation.cases import record
from escalation.lifecycle import is_open
from storage.crypto import DataCipher
from storage.models import (
    Case,
    CaseEvent,
    Counselor,
    CounselorSchool,
    Hospital,
    Message,
    Notification,
    RiskAssessmentRecord,
    Student,
)

# The newest messages a case page shows (older ones stay on the student file).
MESSAGES = 200
# Assessments this long before the case opened belong to its story.
ASSESSMENTS_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class ConversationLine:
    """One message of the student's conversation, decrypted."""

    id: int
    sender: str  # "student", "bot" or "counselor"
    text: str
    at: datetime
    channel: str

    def as_json(self) -> dict[str, object]:
        """The line for a page or the API."""
        return {
            "id": self.id,
            "sender": self.sender,
            "text": self.text,
            "at": self.at.isoformat(),
            "channel": self.channel,
        }


@dataclass(frozen=True)
class Assessment:
    """The detector's verdict on one message, with the words it rested on."""

    at: datetime
    level: str
    categories: tuple[str, ...]
    explanation: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Paged:
    """One alert: to whom, how, and how it went."""

    at: datetime
    kind: str
    recipient: str
    tier: str
    channel: str
    status: str


@dataclass(frozen=True)
class CaseFile:
    """Everything a case page shows."""

    view: CaseView
    subject: CaseSubject
    grade: int | None
    lines: tuple[ConversationLine, ...]
    assessments: tuple[Assessment, ...]
    alerts: tuple[Paged, ...]
    # Event actors as people read them ("counselor:3" → the counselor's name).
    actors: dict[str, str] = field(default_factory=dict)

    @property
    def case(self) -> Case:
        """The case row."""
        return self.view.case


class CaseFiles:
    """Case files and the conversation's new lines, for a counselor who is allowed them."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        desk: CounselorDesk,
        cipher: DataCipher,
        *,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.desk = desk
        self.cipher = cipher
        self.clock = clock

    async def open(self, case_id: int, who: Who) -> CaseFile:
        """The whole file (raises NotAllowedError outside scope, CaseActionError if missing)."""
        view = await self.desk.view(case_id, who)
        case = view.case
        async with self.sessions.begin() as session:
            subject = await case_subject(session, case)
            student = await session.get(Student, case.student_id)
            grade = student.grade if student is not None else None
            rows = await self._messages(session, case.student_id, 0)
            if rows:
                self._record_read(session, case, who, len(rows))
            assessments = await self._assessments(session, case, rows)
            alerts = await self._alerts(session, case.id)
            actors = await self._actors(session, [event.actor for event in view.events])
        return CaseFile(
            view,
            subject,
            grade,
            tuple(self._line(row) for row in rows),
            assessments,
            alerts,
            actors,
        )

    async def lines_after(
        self, case_id: int, who: Who, after: int
    ) -> tuple[Case, list[ConversationLine]]:
        """The conversation's lines after ``after`` (a live page); a read is recorded."""
        async with self.sessions.begin() as session:
            case = await self._case(session, case_id, who)
            rows = await self._messages(session, case.student_id, after)
            if rows:
                self._record_read(session, case, who, len(rows))
        return case, [self._line(row) for row in rows]

    async def case(self, case_id: int, who: Who) -> Case:
        """The case row alone, scope-checked, nothing recorded (a queue's refresh)."""
        async with self.sessions() as session:
            return await self._case(session, case_id, who)

    async def high_water(self) -> tuple[int, int, int]:
        """The newest case, case event and message ids: what a console watcher compares."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(
                        select(func.max(Case.id)).scalar_subquery(),
                        select(func.max(CaseEvent.id)).scalar_subquery(),
                        select(func.max(Message.id)).scalar_subquery(),
                    )
                )
            ).one()
        return (row[0] or 0, row[1] or 0, row[2] or 0)

    async def visible(self, case_id: int, who: Who) -> bool:
        """Whether the case exists and is in the counselor's scope (to explain a refusal)."""
        try:
            await self.case(case_id, who)
        except CaseActionError:
            return False
        return True

    async def colleagues(self, case: Case, who: Who) -> list[tuple[int, str]]:
        """Active counselors (not ``who``) whose scope covers the case: transfer targets."""
        async with self.sessions() as session:
            query = select(Counselor.id, Counselor.name).where(
                Counselor.active.is_(True), Counselor.id != who.counselor_id
            )
            if case.school_id is None:
                query = query.where(Counselor.scope == "district")
            else:
                covering = select(CounselorSchool.counselor_id).where(
                    CounselorSchool.school_id == case.school_id
                )
                query = query.where((Counselor.scope == "district") | Counselor.id.in_(covering))
            rows = (await session.execute(query.order_by(Counselor.name))).all()
        return [(ident, name) for ident, name in rows]

    async def hospitals(self) -> list[tuple[int, str]]:
        """Active hospitals a case may be referred to."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Hospital.id, Hospital.name)
                    .where(Hospital.active.is_(True), Hospital.disabled_at.is_(None))
                    .order_by(Hospital.name)
                )
            ).all()
        return [(ident, name) for ident, name in rows]

    # -- helpers -------------------------------------------------------------------------------

    async def _case(self, session: AsyncSession, case_id: int, who: Who) -> Case:
        if not 0 < case_id <= MAX_ID:  # a number no database column holds: no such case
            raise CaseActionError(f"no case #{case_id}")
        case = await session.get(Case, case_id)
        if case is None:
            raise CaseActionError(f"no case #{case_id}")
        if not await can_see(session, Actor.counselor(who.counselor_id), case):
            raise NotAllowedError(f"case #{case_id} is outside your schools")
        return case

    async def _actors(self, session: AsyncSession, labels: Sequence[str]) -> dict[str, str]:
        ids = {
            int(label.split(":", 1)[1])
            for label in labels
            if label.startswith("counselor:") and label.split(":", 1)[1].isdigit()
        }
        if not ids:
            return {}
        rows = await session.execute(
            select(Counselor.id, Counselor.name).where(Counselor.id.in_(ids))
        )
        return {f"counselor:{row[0]}": row[1] for row in rows.all()}

    def _record_read(self, session: AsyncSession, case: Case, who: Who, count: int) -> None:
        # Every read of a student's words is on the case's timeline, with who read how many.
        record(
            session,
            case,
            actor=Actor.counselor(who.counselor_id).label,
            action="viewed",
            now=self.clock(),
            what="messages",
            count=count,
        )

    async def _messages(self, session: AsyncSession, student_id: int, after: int) -> list[Message]:
        query = select(Message).where(
            Message.student_id == student_id,
            Message.id > after,
            Message.kind.not_in(("reminder", "file")),
            # A counselor's words to a web or WeChat student are stored twice: the takeover's
            # record and the line the student was shown; the console shows the line.
            ~((Message.kind == "counselor") & Message.channel.in_(SHOWN_CHANNELS)),
        )
        if after:
            rows = (await session.scalars(query.order_by(Message.id).limit(MESSAGES))).all()
            return list(rows)
        newest = (await session.scalars(query.order_by(Message.id.desc()).limit(MESSAGES))).all()
        return list(reversed(newest))

    def _line(self, row: Message) -> ConversationLine:
        text = self.cipher.decrypt(row.text_enc) if row.text_enc is not None else ""
        if row.direction == "in":
            sender = "student"
            if row.kind == "command":
                text = "/" + text
        else:
            sender = "counselor" if row.sender == "counselor" else "bot"
        return ConversationLine(row.id, sender, text, row.created_at, row.channel)

    async def _assessments(
        self, session: AsyncSession, case: Case, shown: Sequence[Message]
    ) -> tuple[Assessment, ...]:
        texts = {row.id: self._line(row).text for row in shown if row.direction == "in"}
        rows = (
            await session.scalars(
                select(RiskAssessmentRecord)
                .where(
                    RiskAssessmentRecord.student_id == case.student_id,
                    RiskAssessmentRecord.level != "none",
                    RiskAssessmentRecord.created_at >= case.created_at - ASSESSMENTS_BEFORE,
                )
                .order_by(RiskAssessmentRecord.id)
                .limit(100)
            )
        ).all()
        found = []
        for row in rows:
            evidence: list[str] = []
            for item in row.evidence or []:
                # Evidence holds offsets into the assessed message (0), not words; earlier
                # messages (-1, -2 …) are shown by category only.
                text = texts.get(row.message_id or 0, "") if item.get("message", 0) == 0 else ""
                start, end = item.get("start"), item.get("end")
                if text and isinstance(start, int) and isinstance(end, int) and end > start:
                    evidence.append(text[start:end])
                elif item.get("category"):
                    evidence.append(f"[{item['category']}]")
            found.append(
                Assessment(
                    row.created_at,
                    row.level,
                    tuple(row.categories or ()),
                    row.explanation,
                    tuple(dict.fromkeys(evidence)),
                )
            )
        return tuple(found)

    async def _alerts(self, session: AsyncSession, case_id: int) -> tuple[Paged, ...]:
        rows = (
            await session.scalars(
                select(Notification)
                .where(Notification.case_id == case_id)
                .order_by(Notification.id)
                .limit(200)
            )
        ).all()
        names: dict[int, str] = {}
        ids = {row.recipient_id for row in rows if row.recipient_type == "counselor"}
        if ids:
            found = await session.execute(
                select(Counselor.id, Counselor.name).where(Counselor.id.in_(ids))
            )
            names = {row[0]: row[1] for row in found.all()}
        hospital_ids = {row.recipient_id for row in rows if row.recipient_type == "hospital"}
        if hospital_ids:
            found = await session.execute(
                select(Hospital.id, Hospital.name).where(Hospital.id.in_(hospital_ids))
            )
            hospitals = {row[0]: row[1] for row in found.all()}
        else:
            hospitals = {}
        return tuple(
            Paged(
                row.created_at,
                row.kind,
                (names if row.recipient_type == "counselor" else hospitals).get(
                    row.recipient_id, f"{row.recipient_type} #{row.recipient_id}"
                ),
                row.tier,
                row.channel,
                row.status,
            )
            for row in rows
        )


def open_case(case: Case) -> bool:
    """Whether actions other than notes still apply."""
    return is_open(case.status)
