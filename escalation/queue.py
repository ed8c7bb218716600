"""The case queue: open cases in a counselor's scope, most urgent and longest waiting first.

One query for every place that lists cases (the Telegram desk, ``heartguard cases list``, the
console). The scope rule is the same as :func:`escalation.actions.can_see`: district-scope
counselors and administrators see every school; a school counselor sees only their schools,
and never an anonymous student's case (those are the district team's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.actions import Actor
from escalation.lifecycle import OPEN_STATUSES
from storage.models import Case, Counselor, CounselorSchool, School, Student


@dataclass(frozen=True)
class QueueItem:
    """One case as a queue shows it."""

    case: Case
    school_code: str | None
    school_name: str | None
    student_display: str


async def open_queue(
    session: AsyncSession,
    actor: Actor,
    *,
    limit: int | None = None,
    include_closed: bool = False,
    urgent_first: bool = True,
) -> Sequence[QueueItem]:
    """The cases the actor may see; open ones only unless ``include_closed``.

    Most urgent first, then longest waiting; by case number when not ``urgent_first``.
    """
    rank = sql_case((Case.priority == "emergency", 0), (Case.priority == "urgent", 1), else_=2)
    query = (
        select(Case, School.code, School.name, Student.display_name)
        .join(Student, Student.id == Case.student_id)
        .outerjoin(School, School.id == Case.school_id)
    )
    if not include_closed:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    query = query.order_by(rank, Case.created_at) if urgent_first else query.order_by(Case.id)
    if actor.counselor_id is not None:
        counselor = await session.get(Counselor, actor.counselor_id)
        if counselor is None or not counselor.active:
            return []
        if counselor.scope != "district":
            query = query.where(
                Case.school_id.in_(
                    select(CounselorSchool.school_id).where(
                        CounselorSchool.counselor_id == counselor.id
                    )
                )
            )
    if limit is not None:
        query = query.limit(limit)
    rows = (await session.execute(query)).all()
    return [QueueItem(case, code, name, display) for case, code, name, display in rows]
