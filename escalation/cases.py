"""Cases: opened from the pipeline's case requests, raised by new signals, worked by counselors.

Every change is an append-only case event. The database enforces one open case per student;
a new request attaches to the open case and may raise its priority, which restarts
escalation on the higher priority's chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.lifecycle import OPEN_STATUSES, rank
from escalation.policy import Chain
from storage.models import Case, CaseEvent, CaseRequest, Student

Policies = Mapping[str, Chain]


def case_number(case: Case) -> str:
    """The number people say on the phone: year and id."""
    return f"{case.created_at:%Y}-{case.id:05d}"


def record(
    session: AsyncSession,
    case: Case,
    *,
    actor: str,
    action: str,
    now: datetime,
    **details: Any,
) -> None:
    """Append a case event (ids and codes only, never student text)."""
    if case.id is None:
        # A case not flushed yet: the relationship lets one flush write both.
        event = CaseEvent(case=case, at=now, actor=actor, action=action, details=dict(details))
    else:
        event = CaseEvent(
            case_id=case.id, at=now, actor=actor, action=action, details=dict(details)
        )
    session.add(event)


async def open_case_for(session: AsyncSession, student_id: int) -> Case | None:
    """The student's open case, locked for update where the database supports it."""
    return await session.scalar(
        select(Case)
        .where(Case.student_id == student_id, Case.status.in_(OPEN_STATUSES))
        .with_for_update()
    )


@dataclass(frozen=True)
class Intake:
    """What taking in one request did."""

    case: Case
    opened: bool
    raised: bool


# What a request may say the student wishes (from /talk): codes only, never their words.
WISH_KEYS = ("preferred_time", "preferred_channel")


def wishes_of(request: CaseRequest) -> dict[str, str]:
    """The student's /talk wishes a request carries (preferred time and channel)."""
    details = request.details or {}
    return {k: str(details[k]) for k in WISH_KEYS if details.get(k)}


def _restart(case: Case, chain: Chain, now: datetime) -> None:
    case.chain = chain.to_json()
    case.priority = chain.priority
    case.step_index, case.round = 0, 0
    case.token += 1
    case.status = "open"
    case.acknowledged_at = None
    case.acknowledged_by = None
    case.ack_expires_at = None
    case.next_step_at = now
    case.updated_at = now


async def take_in(
    session: AsyncSession,
    request: CaseRequest,
    policies: Policies,
    now: datetime,
    *,
    known_open: dict[int, Case] | None = None,
) -> Intake:
    """Open a case for a request, or attach it to the student's open case (maybe raising it).

    ``known_open`` (student id → open case) lets a batch skip one query per request; it is
    kept up to date with the cases opened here.
    """
    priority = request.priority if request.priority in policies else "urgent"
    if known_open is not None:
        existing = known_open.get(request.student_id)
    else:
        existing = await open_case_for(session, request.student_id)
    request.handled_at = now
    if existing is None:
        student = await session.get(Student, request.student_id)
        chain = policies[priority]
        case = Case(
            student_id=request.student_id,
            school_id=student.school_id if student else None,
            priority=priority,
            status="open",
            reason=request.reason,
            categories=list(request.categories),
            chain=chain.to_json(),
            step_index=0,
            round=0,
            token=1,
            next_step_at=now,
            assessment_id=request.assessment_id,
            wishes=wishes_of(request) or None,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        if known_open is not None:
            known_open[request.student_id] = case
        record(
            session,
            case,
            actor="system",
            action="opened",
            now=now,
            priority=priority,
            reason=request.reason,
            request_id=request.id,
            assessment_id=request.assessment_id,
        )
        return Intake(case, opened=True, raised=False)
    record(
        session,
        existing,
        actor="system",
        action="attached",
        now=now,
        request_id=request.id,
        priority=priority,
        reason=request.reason,
        assessment_id=request.assessment_id,
    )
    existing.categories = sorted(set(existing.categories) | set(request.categories))
    if wishes_of(request):
        existing.wishes = {**(existing.wishes or {}), **wishes_of(request)}
    if rank(priority) > rank(existing.priority):
        previous = existing.priority
        _restart(existing, policies[priority], now)
        existing.reason = request.reason
        if request.assessment_id is not None:
            existing.assessment_id = request.assessment_id
        record(
            session,
            existing,
            actor="system",
            action="raised",
            now=now,
            previous=previous,
            priority=priority,
        )
        return Intake(existing, opened=False, raised=True)
    return Intake(existing, opened=False, raised=False)


def reopen(case: Case, policies: Policies, now: datetime) -> None:
    """Put a closed case back in play at its priority's current chain."""
    case.resolution = None
    case.closed_at = None
    case.contacted_at = None
    case.referred_at = None
    _restart(case, policies.get(case.priority) or policies["urgent"], now)
