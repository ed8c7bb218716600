"""The answer timer of taken conversations: a student is never left waiting on silence.

A counselor who holds a chat has ``takeover.quiet_after`` to answer the student (from taking
it, or from the student's first unanswered message). Past it, the chat turns ``quiet``: the
counselor and the district crisis team are paged again through the outbox (durable, retried,
on each person's own channels) and the counselor's inbox says the student is waiting. Past it
once more, the bot takes the chat back and shows the student the crisis lines; the case
timeline says so at each step. A chat whose case has closed is simply the bot's again.

The scheduler runs :meth:`QuietTimer.tick` beside the green channel's tick; each chat is one
transaction on its locked row, so several processes never act twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.inbox import InboxItem, InboxKind
from bot.services.chats import contacts_of, student_address
from bot.services.render import Outbound
from bot.services.takeover import TakeoverService
from escalation import ownership
from escalation.cases import case_number
from escalation.lifecycle import is_open
from escalation.outbox import enqueue
from escalation.roster import Recipient, ShiftSpec, recipients
from escalation.takeover import Move, Owner, Trigger
from storage.models import Case, Counselor, Student

log = logging.getLogger(__name__)


async def page(
    session: AsyncSession,
    case: Case,
    holder: int | None,
    now: datetime,
    *,
    reason: str,
    zone: str,
    configured: Sequence[ShiftSpec] = (),
) -> int:
    """Alert the holder (if any) and the district team on duty about this chat, in the outbox."""
    chosen: list[tuple[str, Recipient]] = []
    if holder is not None:
        counselor = await session.get(Counselor, holder)
        contacts = await contacts_of(session, holder)
        if counselor is not None and counselor.active and contacts:
            chosen.append(
                ("school", Recipient("counselor", holder, counselor.name, counselor.role, contacts))
            )
    for person in await recipients(
        session,
        tier="district",
        school_id=case.school_id,
        now=now,
        zone=zone,
        configured=configured,
    ):
        if person.ident != holder:
            chosen.append(("district", person))
    queued = 0
    for tier, person in chosen:
        row = await enqueue(
            session,
            case,
            recipient=person,
            tier=tier,
            kind="alert",
            now=now,
            suffix=f"{reason}{int(now.timestamp())}",
            extra={"takeover": reason},
        )
        queued += row is not None
    return queued


async def page_district(
    service: TakeoverService, case_id: int, now: datetime, *, reason: str
) -> int:
    """A chat passed to the district team: page those on duty (after the owner's commit)."""
    async with service.sessions.begin() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return 0
        queued = await page(
            session,
            case,
            None,
            now,
            reason=reason,
            zone=service.zone,
            configured=service.configured,
        )
    service.kick()
    return queued


class QuietTimer:
    """Pages again, then falls back to the bot, for chats whose counselor went quiet."""

    def __init__(self, service: TakeoverService) -> None:
        self.service = service

    async def tick(self, now: datetime) -> int:
        """Act on every chat past its answer time; returns how many were acted on."""
        async with self.service.sessions() as session:
            due = await ownership.due(session, now)
        acted = 0
        for student_id in due:
            try:
                acted += await self._one(student_id, now)
            except Exception:
                # One chat's failure must not leave the others waiting.
                log.exception("takeover timer failed for student %s", student_id)
        return acted

    async def _one(self, student_id: int, now: datetime) -> int:
        service = self.service
        told: tuple[tuple[str, str] | None, str] | None = None
        paged = 0
        async with service.sessions() as session, session.begin():
            row = await ownership.load(session, student_id)
            if row is None or row.due_at is None or row.due_at > now:
                return 0  # another process acted first
            state, holder = Owner(row.state), row.counselor_id
            if state not in (Owner.COUNSELOR, Owner.QUIET):
                return 0
            case = await session.get(Case, row.case_id) if row.case_id is not None else None
            student = await session.get(Student, student_id)
            if case is None or student is None or not is_open(case.status):
                await ownership.move(
                    session,
                    student_id,
                    Move(Trigger.END),
                    now=now,
                    case=case,
                    quiet_after=service.quiet_after,
                    actor="system",
                    row=row,
                )
                kind = InboxKind.ENDED
            elif state is Owner.COUNSELOR:
                await ownership.move(
                    session,
                    student_id,
                    Move(Trigger.QUIET),
                    now=now,
                    case=case,
                    quiet_after=service.quiet_after,
                    actor="system",
                    row=row,
                )
                paged = await page(
                    session,
                    case,
                    holder,
                    now,
                    reason="quiet",
                    zone=service.zone,
                    configured=service.configured,
                )
                kind = InboxKind.QUIET
                log.warning(
                    "case %s: counselor %s has not answered; paged %s again", case.id, holder, paged
                )
            else:
                await ownership.move(
                    session,
                    student_id,
                    Move(Trigger.FALLBACK),
                    now=now,
                    case=case,
                    quiet_after=service.quiet_after,
                    actor="system",
                    row=row,
                )
                text = service.renderer.text("takeover.fallback", student.language)
                told = (await student_address(session, student_id), text)
                kind = InboxKind.FALLBACK
                log.warning(
                    "case %s: nobody answered the student; the bot has the chat again", case.id
                )
            contacts = await contacts_of(session, holder) if holder is not None else ()
            number = case_number(case) if case is not None else ""
            case_id = case.id if case is not None else 0
            name = student.display_name if student is not None else ""
        if paged:
            service.kick()
        if told is not None:
            result = await service.send(told[0], [Outbound(told[1], purpose="note")])
            if not result.ok:
                log.warning(
                    "fallback to student %s not delivered: %s", student_id, result.status.value
                )
        if holder is not None and case_id:
            await service.inbox.deliver(
                InboxItem(holder, contacts, case_id, number, name, kind, now)
            )
        return 1
