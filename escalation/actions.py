"""Counselor actions on cases, with scope checks: the service API the CLI, Telegram buttons
and a later web console all call.

Only counselors whose scope covers the case's school may act or look; every other attempt is
refused, logged and recorded. Every action and every read is a case event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import HeartGuardError
from escalation.cases import Policies, read_note, record, reopen
from escalation.lifecycle import ACTIONS, RESOLUTIONS, may
from escalation.outbox import enqueue_referrals, enqueue_updates
from storage.crypto import DataCipher
from storage.models import Case, CaseEvent, Counselor, CounselorSchool

log = logging.getLogger(__name__)


class CaseActionError(HeartGuardError):
    """An action that cannot be taken; the message is safe to show to the counselor."""


class NotAllowedError(CaseActionError):
    """The actor's scope does not cover this case."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: a counselor (by id) or an administrator at the CLI (full scope)."""

    counselor_id: int | None
    label: str

    @classmethod
    def admin(cls, label: str = "cli:admin") -> Actor:
        """An administrator with district-wide scope."""
        return cls(None, label)

    @classmethod
    def counselor(cls, ident: int) -> Actor:
        """A counselor; their scope is checked on every action."""
        return cls(ident, f"counselor:{ident}")


async def can_see(session: AsyncSession, actor: Actor, case: Case) -> bool:
    """Whether the actor's scope covers the case's school."""
    if actor.counselor_id is None:
        return True
    counselor = await session.get(Counselor, actor.counselor_id)
    if counselor is None or not counselor.active:
        return False
    if counselor.scope == "district":
        return True
    if case.school_id is None:
        return False  # anonymous students are the district team's
    covered = await session.scalar(
        select(CounselorSchool.school_id).where(
            CounselorSchool.counselor_id == counselor.id,
            CounselorSchool.school_id == case.school_id,
        )
    )
    return covered is not None


Kick = Callable[[], Awaitable[None] | None]


class CaseService:
    """Acting on cases in one transaction each."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policies: Policies,
        *,
        emergency_ack_expiry: timedelta,
        cipher: DataCipher,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        # Notes are what counselors type (phone numbers, what a parent said): encrypted.
        self.cipher = cipher
        self.policies = policies
        self.emergency_ack_expiry = emergency_ack_expiry
        self.on_change = on_change

    async def act(
        self,
        case_id: int,
        action: str,
        actor: Actor,
        now: datetime,
        *,
        note: str = "",
        resolution: str = "other",
        hospital: int | None = None,
    ) -> Case:
        """Apply one action; raises CaseActionError (or NotAllowedError) with a clear reason.

        ``hospital``: refer to this hospital only (the console's choice), not to every one.
        """
        async with self.sessions() as session, session.begin():
            case = await self._admit(session, case_id, action, actor, now)
            await self._apply(session, case, action, actor, now, note, resolution, hospital)
        if self.on_change is not None:
            self.on_change()
        return case

    async def apply(
        self, session: AsyncSession, case: Case, action: str, actor: Actor, now: datetime
    ) -> None:
        """One action in the caller's transaction, on a case it locked and scope-checked.

        For services that act as part of something larger (taking over a chat acknowledges
        its open case); the caller kicks the engine after its commit.
        """
        if not may(action, case.status):
            raise CaseActionError(f"case #{case.id} is {case.status}; cannot {action}")
        await self._apply(session, case, action, actor, now, "", "other")

    async def check(self, case_id: int, action: str, actor: Actor, now: datetime) -> Case:
        """Whether ``action`` may be taken now, refusals recorded as ``act`` records them.

        Changes nothing else: a channel that asks a question before acting (Telegram's Resolve
        asks for the outcome) checks first, and acts only on the answer.
        """
        async with self.sessions() as session, session.begin():
            return await self._admit(session, case_id, action, actor, now)

    async def _admit(
        self, session: AsyncSession, case_id: int, action: str, actor: Actor, now: datetime
    ) -> Case:
        """The case, locked, when the actor may take the action; a recorded refusal if not."""
        if action not in ACTIONS:
            raise CaseActionError(f"unknown action {action!r}; expected one of {ACTIONS}")
        case = await session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise CaseActionError(f"no case #{case_id}")
        if not await can_see(session, actor, case):
            log.warning("refused %s on case %s by %s: outside scope", action, case_id, actor.label)
            record(
                session,
                case,
                actor=actor.label,
                action="refused",
                now=now,
                attempted=action,
                why="scope",
            )
            await session.commit()
            raise NotAllowedError(f"case #{case_id} is outside your schools")
        if not may(action, case.status):
            record(
                session,
                case,
                actor=actor.label,
                action="refused",
                now=now,
                attempted=action,
                why=f"status {case.status}",
            )
            await session.commit()
            raise CaseActionError(f"case #{case_id} is {case.status}; cannot {action}")
        return case

    async def _apply(
        self,
        session: AsyncSession,
        case: Case,
        action: str,
        actor: Actor,
        now: datetime,
        note: str,
        resolution: str,
        hospital: int | None = None,
    ) -> None:
        stop = case.status == "open"
        if action == "ack":
            if case.status == "acknowledged":
                record(session, case, actor=actor.label, action="ack_again", now=now)
                return
            case.status = "acknowledged"
            case.acknowledged_at, case.acknowledged_by = now, actor.counselor_id
            if case.priority == "emergency":
                case.ack_expires_at = now + self.emergency_ack_expiry
        elif action == "contacted":
            case.status = "in_progress"
            case.contacted_at = now
            case.ack_expires_at = None
        elif action == "refer":
            case.status = "referred"
            case.referred_at = now
            case.ack_expires_at = None
            count = await enqueue_referrals(session, case, now, hospital)
            if hospital is not None and not count:
                raise CaseActionError(f"no active hospital #{hospital}")
            chosen: dict[str, Any] = {"hospital": hospital} if hospital is not None else {}
            record(
                session,
                case,
                actor=actor.label,
                action="referral_sent",
                now=now,
                hospitals=count,
                **chosen,
            )
        elif action == "resolve":
            if resolution not in RESOLUTIONS:
                raise CaseActionError(f"resolution: expected one of {RESOLUTIONS}")
            case.status, case.resolution, case.closed_at = "resolved", resolution, now
            case.ack_expires_at = None
            stop = True
        elif action == "reopen":
            reopen(case, self.policies, now)
            stop = False
        elif action == "note":
            record(
                session,
                case,
                actor=actor.label,
                action="note",
                now=now,
                note_enc=self.cipher.encrypt(note[:1000]),
            )
            return
        if stop and action != "reopen":
            case.token += 1  # any step computed before this moment is now stale
            case.next_step_at = None
        case.updated_at = now
        await enqueue_updates(session, case, now, action)
        details: dict[str, Any] = {"resolution": resolution} if action == "resolve" else {}
        record(session, case, actor=actor.label, action=action, now=now, **details)

    def note(self, event: CaseEvent) -> str | None:
        """An event's note, decrypted (a marker when this key cannot read it)."""
        return read_note(self.cipher, event)

    async def view(self, case_id: int, actor: Actor, now: datetime) -> tuple[Case, list[CaseEvent]]:
        """A case and its timeline; the read itself is recorded."""
        async with self.sessions() as session, session.begin():
            case = await session.get(Case, case_id)
            if case is None:
                raise CaseActionError(f"no case #{case_id}")
            if not await can_see(session, actor, case):
                record(
                    session,
                    case,
                    actor=actor.label,
                    action="refused",
                    now=now,
                    attempted="view",
                    why="scope",
                )
                await session.commit()
                raise NotAllowedError(f"case #{case_id} is outside your schools")
            record(session, case, actor=actor.label, action="viewed", now=now)
            await session.flush()
            events = list(
                (
                    await session.scalars(
                        # In the order things happened: a tick that began before an
                        # action may write its event after it.
                        select(CaseEvent)
                        .where(CaseEvent.case_id == case.id)
                        .order_by(CaseEvent.at, CaseEvent.id)
                    )
                ).all()
            )
        return case, events
