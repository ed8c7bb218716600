"""Open cases whose follow-up or referral is past due: one rule for the reports and the watch
list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, Student

# Case events that are a person following a case up (a view or a refusal is not).
FOLLOW_UPS = ("ack", "contacted", "refer", "resolve", "reopen", "note", "marked")


@dataclass(frozen=True)
class Rules:
    """What the report counts as overdue, and the guardian-consent age."""

    follow_up_due: timedelta
    referral_due: timedelta
    consent_age: int


@dataclass(frozen=True)
class Overdue:
    """An open case past due: its student, school and grade, and which kind."""

    case_id: int
    student_id: int
    school_id: int | None
    grade: int | None
    kind: str


async def overdue_cases(
    session: AsyncSession, school_id: int | None, as_of: datetime, rules: Rules
) -> list[Overdue]:
    """Cases open at ``as_of`` whose follow-up or referral was past due then.

    ``kind`` is "follow_up" or "referral". A referral is overdue
    when the case is still open ``referral_due`` after it; any other open case when no person
    has followed it up (acknowledged, contacted, noted, referred…) for ``follow_up_due``.
    """
    query = (
        select(
            Case.id, Case.student_id, Case.school_id, Case.created_at, Case.referred_at,
            Student.grade,
        )
        .join(Student, Student.id == Case.student_id)
        .where(Case.created_at < as_of, (Case.closed_at.is_(None)) | (Case.closed_at >= as_of))
    )  # fmt: skip
    if school_id is not None:
        query = query.where(Case.school_id == school_id)
    cases = (await session.execute(query)).all()
    if not cases:
        return []
    last_touch = await session.execute(
        select(CaseEvent.case_id, func.max(CaseEvent.at))
        .where(
            CaseEvent.case_id.in_(tuple(row[0] for row in cases)),
            CaseEvent.action.in_(FOLLOW_UPS),
            CaseEvent.at < as_of,
        )
        .group_by(CaseEvent.case_id)
    )
    touched: dict[int, datetime] = {cid: at for cid, at in last_touch.all()}  # noqa: C416
    out = []
    for cid, sid, school, created, referred, grade in cases:
        if referred is not None and referred < as_of:
            if as_of - referred >= rules.referral_due:
                out.append(Overdue(cid, sid, school, grade, "referral"))
        elif as_of - touched.get(cid, created) >= rules.follow_up_due:
            out.append(Overdue(cid, sid, school, grade, "follow_up"))
    return out
