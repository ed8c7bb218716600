"""The takeover service: a counselor takes a student's conversation, talks, and gives it back.

Channel-neutral: Telegram's counselor desk calls it now, the web console and the integration
API later, with a counselor id they have authenticated. Every call is scope-checked like
CaseService's actions (a refusal is recorded on the case), moves the conversation's owner
through :mod:`escalation.takeover`, and records a case event in the same transaction. What
the student is told goes out after the commit through their own channel's port, in their
language; what the counselor should see (the student's words, an undelivered message) goes
to the :class:`~bot.channels.inbox.InboxHub`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.inbox import InboxHub, InboxItem, InboxKind
from bot.channels.port import Delivery, DeliveryResult, StudentPort
from bot.services.chats import Line, contacts_of, recent_lines, student_address
from bot.services.relay import Relay
from bot.services.render import Outbound, Purpose, Renderer
from bot.services.students import mark_unreachable
from core.clock import Clock
from escalation import ownership
from escalation.actions import Actor, CaseActionError, CaseService, NotAllowedError, can_see
from escalation.cases import case_number, present, record
from escalation.lifecycle import is_open
from escalation.roster import ShiftSpec
from escalation.takeover import Move, Owner, Ownership, TakeoverRefused, Trigger, fire
from storage.crypto import DataCipher
from storage.models import (
    Case,
    Counselor,
    Message,
    Student,
)

log = logging.getLogger(__name__)
# The longest message a counselor may send in one go (Telegram's limit, and plenty).
MAX_WORDS = 4000
# How many recent messages a counselor sees when they take a chat.
RECENT = 6


@dataclass(frozen=True)
class TakeoverResult:
    """What a takeover call did, for the channel to tell the counselor."""

    case_id: int
    case_number: str
    student: str
    state: Owner
    counselor_id: int | None
    delivery: DeliveryResult
    acknowledged: bool = False
    recent: tuple[Line, ...] = ()
    message_id: int | None = None

    @property
    def delivered(self) -> bool:
        """The student got what they were to be told."""
        return self.delivery.ok


@dataclass
class _Told:
    """What to send the student after the commit."""

    student_id: int
    case_id: int
    address: tuple[str, str] | None
    text: str
    # "counselor": the counselor's own words (the chat page shows them as the counselor's);
    # "note": what the bot says about who is writing.
    purpose: Purpose = "note"


class TakeoverService:
    """Take, reply, hand back and transfer; relays the student's words to the holder."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cases: CaseService,
        *,
        cipher: DataCipher,
        renderer: Renderer,
        ports: Mapping[str, StudentPort],
        inbox: InboxHub,
        clock: Clock,
        quiet_after: timedelta,
        zone: str,
        configured: Sequence[ShiftSpec] = (),
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.cases = cases
        self.cipher = cipher
        self.renderer = renderer
        self.ports = ports  # the student service's own dict: channels plugged in later count
        self.inbox = inbox
        self.clock = clock
        self.quiet_after = quiet_after
        self.zone = zone  # the district's, for who is on duty when a chat is paged again
        self.configured = tuple(configured)
        self.kick = kick

    # -- scope and refusals --------------------------------------------------------------------

    async def _case(self, session: AsyncSession, case_id: int, actor: Actor, what: str) -> Case:
        """The case, locked, if the actor's scope covers it and it is open."""
        case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise CaseActionError(f"no case #{case_id}")
        if not await can_see(session, actor, case):
            log.warning("refused %s on case %s by %s: outside scope", what, case_id, actor.label)
            await self._refuse(session, case, actor, what, "scope")
            raise NotAllowedError(f"case #{case_id} is outside your schools")
        if not is_open(case.status):
            await self._refuse(session, case, actor, what, f"status {case.status}")
            raise CaseActionError(f"case #{case_id} is {case.status}; cannot {what}")
        return case

    async def _refuse(
        self, session: AsyncSession, case: Case, actor: Actor, what: str, why: str
    ) -> None:
        """Record the refusal and keep it, although the caller's move fails."""
        record(
            session,
            case,
            actor=actor.label,
            action="refused",
            now=self.clock(),
            attempted=what,
            why=why,
        )
        await session.commit()

    async def _move(
        self,
        session: AsyncSession,
        case: Case,
        step: Move,
        actor: Actor,
        now: datetime,
        **details: Any,
    ) -> Ownership:
        try:
            _, after = await ownership.move(
                session,
                case.student_id,
                step,
                now=now,
                case=case,
                quiet_after=self.quiet_after,
                actor=actor.label,
                **details,
            )
        except TakeoverRefused as exc:
            log.info(
                "refused %s on case %s by %s: %s",
                step.trigger.value,
                case.id,
                actor.label,
                exc.reason,
            )
            await self._refuse(session, case, actor, step.trigger.value, exc.reason)
            raise
        return after

    def _note(self, note: str) -> dict[str, Any]:
        """A counselor's free text, encrypted for the case event (it may name the student)."""
        note = note.strip()
        return {"note_enc": self.cipher.encrypt(note[:1000])} if note else {}

    # -- counselor actions ---------------------------------------------------------------------

    async def take(self, case_id: int, counselor_id: int) -> TakeoverResult:
        """Take the student's conversation; an open case is acknowledged with it."""
        now, actor = self.clock(), Actor.counselor(counselor_id)
        async with self.sessions() as session, session.begin():
            case = await self._case(session, case_id, actor, "take")
            after = await self._move(session, case, Move(Trigger.TAKE, counselor_id), actor, now)
            acknowledged = case.status == "open"
            if acknowledged:
                await self.cases.apply(session, case, "ack", actor, now)
            student, name = await self._people(session, case, counselor_id)
            recent = await recent_lines(session, self.cipher, student.id, RECENT)
            if recent:
                record(
                    session,
                    case,
                    actor=actor.label,
                    action="viewed",
                    now=now,
                    what="recent_messages",
                    count=len(recent),
                )
            told = _Told(
                student.id,
                case.id,
                await student_address(session, student.id),
                self.renderer.text("takeover.joined", student.language, {"name": name}),
            )
            number = case_number(case)
        if acknowledged:
            self.kick()
        delivery = await self._tell(told, actor)
        log.info("counselor %s took the conversation of case %s", counselor_id, case_id)
        return TakeoverResult(
            case_id,
            number,
            student.display_name,
            after.state,
            after.counselor_id,
            delivery,
            acknowledged,
            recent,
        )

    async def reply(self, case_id: int, counselor_id: int, text: str) -> TakeoverResult:
        """The holder's words to the student, stored encrypted and on the case timeline."""
        words = text.strip()
        if not words:
            raise CaseActionError("nothing to send")
        if len(words) > MAX_WORDS:
            raise CaseActionError(f"too long: at most {MAX_WORDS} characters")
        now, actor = self.clock(), Actor.counselor(counselor_id)
        async with self.sessions() as session, session.begin():
            case = await self._case(session, case_id, actor, "reply")
            try:
                # Checked before the words are stored: refused words are never kept.
                held = await ownership.load(session, case.student_id)
                fire(ownership.ownership_of(held), Move(Trigger.REPLY, counselor_id))
            except TakeoverRefused as exc:
                await self._refuse(session, case, actor, "reply", exc.reason)
                raise
            student, name = await self._people(session, case, counselor_id)
            address = await student_address(session, student.id)
            message = Message(
                student_id=student.id,
                direction="out",
                kind="counselor",
                sender="counselor",
                channel=address[0] if address else "none",
                channel_chat_id=address[1] if address else None,
                text_enc=self.cipher.encrypt(words),
                created_at=now,
            )
            session.add(message)
            await session.flush()
            after = await self._move(
                session, case, Move(Trigger.REPLY, counselor_id), actor, now, message_id=message.id
            )
            said = self.renderer.text(
                "takeover.says", student.language, {"name": name, "text": words}
            )
            told = _Told(student.id, case.id, address, said, "counselor")
            number, message_id = case_number(case), message.id
        delivery = await self._tell(told, actor, message_id=message_id)
        return TakeoverResult(
            case_id,
            number,
            student.display_name,
            after.state,
            after.counselor_id,
            delivery,
            message_id=message_id,
        )

    async def hand_back(
        self, case_id: int, counselor_id: int | None, note: str = ""
    ) -> TakeoverResult:
        """Give the conversation back to the bot, with a note; the student is told honestly.

        ``counselor_id`` None is an administrator at the command line (full scope).
        """
        now = self.clock()
        actor = Actor.admin() if counselor_id is None else Actor.counselor(counselor_id)
        async with self.sessions() as session, session.begin():
            case = await self._case(session, case_id, actor, "hand_back")
            holder = await ownership.load(session, case.student_id, lock=False)
            holder_id = holder.counselor_id if holder is not None else None
            after = await self._move(
                session, case, Move(Trigger.HAND_BACK, counselor_id), actor, now, **self._note(note)
            )
            student, name = await self._people(session, case, holder_id or counselor_id)
            told = _Told(
                student.id,
                case.id,
                await student_address(session, student.id),
                self.renderer.text("takeover.handed_back", student.language, {"name": name}),
            )
            number = case_number(case)
        delivery = await self._tell(told, actor)
        return TakeoverResult(case_id, number, student.display_name, after.state, None, delivery)

    async def transfer(
        self, case_id: int, counselor_id: int, to_counselor: int | None, note: str = ""
    ) -> TakeoverResult:
        """Pass the conversation to a colleague in scope, or (``None``) to the district team."""
        now, actor = self.clock(), Actor.counselor(counselor_id)
        async with self.sessions() as session, session.begin():
            case = await self._case(session, case_id, actor, "transfer")
            student, name = await self._people(session, case, counselor_id)
            params = {"name": name}
            if to_counselor is None:
                after = await self._move(
                    session,
                    case,
                    Move(Trigger.RELEASE, counselor_id),
                    actor,
                    now,
                    **self._note(note),
                )
                key = "takeover.released"
                contacts: tuple[tuple[str, str], ...] = ()
            else:
                colleague = await session.get(Counselor, to_counselor)
                if colleague is None or not await can_see(
                    session, Actor.counselor(to_counselor), case
                ):
                    await self._refuse(session, case, actor, "transfer", "colleague_scope")
                    raise NotAllowedError(f"counselor #{to_counselor} cannot take case #{case_id}")
                after = await self._move(
                    session,
                    case,
                    Move(Trigger.TRANSFER, counselor_id, to_counselor),
                    actor,
                    now,
                    **{"from": counselor_id},
                    **self._note(note),
                )
                params["colleague"] = colleague.name
                key = "takeover.transferred"
                contacts = await contacts_of(session, to_counselor)
            told = _Told(
                student.id,
                case.id,
                await student_address(session, student.id),
                self.renderer.text(key, student.language, params),
            )
            number = case_number(case)
        if to_counselor is not None:
            await self.inbox.deliver(
                InboxItem(
                    to_counselor,
                    contacts,
                    case_id,
                    number,
                    student.display_name,
                    InboxKind.TRANSFERRED,
                    now,
                )
            )
        else:
            from bot.services.takeover_timer import page_district

            await page_district(self, case_id, now, reason="released")
        delivery = await self._tell(told, actor)
        return TakeoverResult(
            case_id, number, student.display_name, after.state, after.counselor_id, delivery
        )

    async def held(self, counselor_id: int) -> Sequence[int]:
        """The cases of the conversations a counselor holds now."""
        async with self.sessions() as session:
            rows = await ownership.held_by(session, counselor_id)
        return [row.case_id for row in rows if row.case_id is not None]

    async def state_of(self, case_id: int) -> tuple[Owner, int | None]:
        """Who holds the conversation of a case's student (read-only; scope is the caller's)."""
        async with self.sessions() as session:
            case = await session.get(Case, case_id)
            if case is None:
                return Owner.BOT, None
            row = await ownership.load(session, case.student_id, lock=False)
        value = ownership.ownership_of(row)
        return value.state, value.counselor_id

    # -- the student's side --------------------------------------------------------------------

    async def relay(self, relay: Relay) -> None:
        """The student wrote while a counselor holds the chat: show it to them (after commit)."""
        async with self.sessions() as session:
            contacts = await contacts_of(session, relay.counselor_id)
        await self.inbox.deliver(
            InboxItem(
                relay.counselor_id,
                contacts,
                relay.case_id,
                relay.case_number,
                relay.student,
                InboxKind.STUDENT,
                relay.at,
                text=relay.text,
                level=relay.level,
                message_id=relay.message_id,
            )
        )

    # -- helpers -------------------------------------------------------------------------------

    async def _people(
        self, session: AsyncSession, case: Case, counselor_id: int | None
    ) -> tuple[Student, str]:
        student = await session.get(Student, case.student_id)
        if student is None:
            raise CaseActionError(f"case #{case.id} has no student")
        counselor = await session.get(Counselor, counselor_id) if counselor_id else None
        return student, counselor.name if counselor is not None else "老师"

    async def _tell(
        self, told: _Told, actor: Actor, *, message_id: int | None = None
    ) -> DeliveryResult:
        """Send after the commit; an undelivered message is recorded and reported back."""
        result = await self.send(told.address, [Outbound(told.text, purpose=told.purpose)])
        if result.ok:
            return result
        now = self.clock()
        async with self.sessions.begin() as session:
            case = await session.get(Case, told.case_id)
            if case is not None:
                record(
                    session,
                    case,
                    actor=actor.label,
                    action="message_undelivered",
                    now=now,
                    status=result.status.value,
                    **present(message_id=message_id),
                )
            if result.status is Delivery.BLOCKED:
                await mark_unreachable(
                    session, told.student_id, now, why="takeover message refused"
                )
        log.warning(
            "takeover message to student %s on case %s not delivered: %s",
            told.student_id,
            told.case_id,
            result.status.value,
        )
        return result

    async def send(
        self, address: tuple[str, str] | None, replies: Sequence[Outbound]
    ) -> DeliveryResult:
        """Through the student's channel's port; a channel this process lacks is a retry."""
        if address is None:
            return DeliveryResult(Delivery.FAILED, error="the student has no chat")
        port = self.ports.get(address[0])
        if port is None:
            return DeliveryResult(Delivery.RETRY, error=f"no {address[0]} channel in this process")
        return await port.deliver(address[1], replies)
