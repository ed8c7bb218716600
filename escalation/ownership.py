"""Conversation ownership in the database: one row per student, every change a case event.

The rules live in :mod:`escalation.takeover` (pure); this module loads the row (locked where
the database can), fires a move, stores the result and records the case event, all in the
caller's transaction. A student without a row belongs to the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.cases import record
from escalation.takeover import HUMAN, Move, Owner, Ownership, Trigger, fire
from storage.models import Case, ConversationOwner

# The case event each trigger leaves on the timeline.
EVENTS: dict[Trigger, str] = {
    Trigger.REQUEST: "takeover_requested",
    Trigger.TAKE: "taken",
    Trigger.REPLY: "counselor_message",
    Trigger.QUIET: "counselor_quiet",
    Trigger.FALLBACK: "takeover_fallback",
    Trigger.HAND_BACK: "handed_back",
    Trigger.TRANSFER: "transferred",
    Trigger.RELEASE: "released_to_district",
    Trigger.END: "takeover_ended",
}


def ownership_of(row: ConversationOwner | None) -> Ownership:
    """The pure value of a stored row (no row: the bot)."""
    if row is None:
        return Ownership()
    return Ownership(Owner(row.state), row.counselor_id)


async def load(
    session: AsyncSession, student_id: int, *, lock: bool = True
) -> ConversationOwner | None:
    """The student's ownership row, locked for update where the database supports it."""
    query = select(ConversationOwner).where(ConversationOwner.student_id == student_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def move(
    session: AsyncSession,
    student_id: int,
    step: Move,
    *,
    now: datetime,
    case: Case | None,
    quiet_after: timedelta,
    actor: str,
    row: ConversationOwner | None = None,
    **details: Any,
) -> tuple[ConversationOwner, Ownership]:
    """Fire one move (raises TakeoverRefused), store it, and record it on ``case``.

    A move that puts a counselor in charge, or picks up a quiet chat, starts the answer timer;
    a reply stops it (the student's next message starts it again).
    """
    if row is None:
        row = await load(session, student_id)
    before = ownership_of(row)
    after = fire(before, step)
    if row is None:
        row = ConversationOwner(
            student_id=student_id, state=after.state.value, since=now, version=0, updated_at=now
        )
        session.add(row)
    if after.state != before.state or after.counselor_id != before.counselor_id:
        row.since = now
    row.state, row.counselor_id = after.state.value, after.counselor_id
    if case is not None:
        row.case_id = case.id
    if after.state not in HUMAN or step.trigger is Trigger.REPLY:
        row.due_at = None
    elif before != after or step.trigger is Trigger.QUIET:
        # A new holder (or a quiet one paged again) has until then to answer.
        row.due_at = now + quiet_after
    row.version = (row.version or 0) + 1
    row.updated_at = now
    if case is not None:
        record(
            session,
            case,
            actor=actor,
            action=EVENTS[step.trigger],
            now=now,
            state=after.state.value,
            previous=before.state.value,
            **({"counselor": after.counselor_id} if after.counselor_id else {}),
            **details,
        )
    return row, after


def student_waits(row: ConversationOwner, now: datetime, quiet_after: timedelta) -> None:
    """The student wrote to a counselor who holds the chat: the answer timer runs from now."""
    if row.due_at is None and Owner(row.state) in HUMAN:
        row.due_at = now + quiet_after
        row.version += 1
        row.updated_at = now


async def due(session: AsyncSession, now: datetime, limit: int = 100) -> Sequence[int]:
    """Students whose counselor is past their answer time (quiet, or quiet for too long)."""
    return (
        await session.scalars(
            select(ConversationOwner.student_id)
            .where(
                ConversationOwner.state.in_([Owner.COUNSELOR.value, Owner.QUIET.value]),
                ConversationOwner.due_at <= now,
            )
            .order_by(ConversationOwner.due_at)
            .limit(limit)
        )
    ).all()


async def held_by(session: AsyncSession, counselor_id: int) -> Sequence[ConversationOwner]:
    """The conversations a counselor holds now."""
    return (
        await session.scalars(
            select(ConversationOwner).where(
                ConversationOwner.counselor_id == counselor_id,
                ConversationOwner.state.in_([Owner.COUNSELOR.value, Owner.QUIET.value]),
            )
        )
    ).all()
