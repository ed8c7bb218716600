"""The pipeline's side of a taken conversation: the bot keeps quiet, the detector does not.

Inside the pipeline's transaction, after the message is stored and assessed,
:func:`intercept` asks who holds the student's conversation. When a counselor does, the flow
is not stepped (the bot says nothing), a risk signal still makes its case request (a new
imminent signal raises the open case, so everyone on the chain is paged again), the student's
answer timer starts if it was not running, and a :class:`Relay` tells the student service to
show the words to the counselor once the transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from escalation import ownership
from escalation.cases import case_number, open_case_for, present, record
from escalation.requests import request_case
from escalation.takeover import Move, TakeoverRefused, Trigger
from flows import RiskSignal
from flows.triage import decide
from storage.models import RiskAssessmentRecord, Student

# Commands the bot still answers while a counselor holds the chat: the crisis lines.
ALWAYS_ANSWERED = frozenset({"help"})


@dataclass(frozen=True)
class Relay:
    """A student's message for the counselor who holds the chat (words in memory only)."""

    counselor_id: int
    case_id: int
    case_number: str
    student: str
    message_id: int
    text: str
    level: str | None
    at: datetime


@dataclass(frozen=True)
class Intercepted:
    """What :func:`intercept` decided: relay (bot silent), or the bot is back (``ended``)."""

    relay: Relay | None = None
    created_case_request: bool = False
    # The chat had been held for a case that has since closed: who held it, to say so.
    ended_by: int | None = None


async def intercept(
    session: AsyncSession,
    *,
    student: Student,
    message_id: int,
    assessment: RiskAssessmentRecord | None,
    signal: RiskSignal,
    text: str,
    command: str | None,
    now: datetime,
    quiet_after: timedelta,
    owner_row: bool = True,
) -> Intercepted:
    """Decide whether a counselor holds this message (see the module docstring).

    ``owner_row`` False: the transaction already saw no ownership row, so the bot holds the
    chat and there is no row to lock; the read is skipped.
    """
    if not owner_row:
        return Intercepted()
    row = await ownership.load(session, student.id)
    held = ownership.ownership_of(row)
    if row is None or not held.human:
        return Intercepted()
    case = await open_case_for(session, student.id)
    if case is None or (row.case_id is not None and row.case_id != case.id):
        # The case closed under the chat (a newer one may be open): the chat is the bot's
        # again, and this message too.
        await ownership.move(
            session,
            student.id,
            Move(Trigger.END),
            now=now,
            case=None,
            quiet_after=quiet_after,
            actor="system",
            row=row,
        )
        return Intercepted(ended_by=held.counselor_id)
    if command in ALWAYS_ANSWERED:
        return Intercepted()
    created = False
    decision = decide(signal, None, {})
    if decision.case is not None:
        priority, reason = decision.case
        request_case(
            session,
            student_id=student.id,
            priority=priority,
            reason=reason,
            now=now,
            categories=signal.categories,
            assessment=assessment,
            details={"flow": "takeover"},
        )
        created = True
    ownership.student_waits(row, now, quiet_after)
    level = assessment.level if assessment is not None and assessment.level != "none" else None
    record(
        session,
        case,
        actor=f"student:{student.id}",
        action="student_message",
        now=now,
        message_id=message_id,
        **present(level=level),
    )
    assert held.counselor_id is not None  # a human state always names its holder
    return Intercepted(
        relay=Relay(
            counselor_id=held.counselor_id,
            case_id=case.id,
            case_number=case_number(case),
            student=student.display_name,
            message_id=message_id,
            text=text,
            level=level,
            at=now,
        ),
        created_case_request=created,
    )


async def ask_for_person(session: AsyncSession, student_id: int, now: datetime) -> bool:
    """/talk → "message me here": the chat waits for a counselor to take it (the bot stays).

    Recorded on the student's open case when there is one; a case opened from this request
    carries the wish itself. A chat a counselor already holds stays theirs.
    """
    case = await open_case_for(session, student_id)
    try:
        await ownership.move(
            session,
            student_id,
            Move(Trigger.REQUEST),
            now=now,
            case=case,
            quiet_after=timedelta(0),
            actor=f"student:{student_id}",
        )
    except TakeoverRefused:
        return False
    return True
