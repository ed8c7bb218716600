"""One-time codes that link a counselor's chat to their counselor record.

An administrator issues a code (``heartguard counselors code ID``) and hands it to the
counselor, who sends ``/link CODE`` to the bot in a private chat. The chat id then becomes the
counselor's first-ranked contact on that channel. Codes use the enrollment codes' alphabet and
hashing; only the hash is stored, because nobody ever needs to see a code again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFoundError, UsageError
from bot.services.one_time_codes import (
    Redemption,
    check_ttl,
    code_hash,
    new_code,
    revoke_unused,
    spend,
)
from storage.audit import audit
from storage.models import Counselor, CounselorContact, CounselorLinkCode


@dataclass(frozen=True)
class IssuedLink:
    """A code as handed to a counselor."""

    code: str
    counselor_id: int
    counselor_name: str
    expires_at: datetime


async def issue(
    session: AsyncSession, counselor_id: int, *, ttl: timedelta, now: datetime, actor: str
) -> IssuedLink:
    """A fresh code for one active counselor; their older unused codes stop working."""
    check_ttl(ttl)
    counselor = await session.get(Counselor, counselor_id)
    if counselor is None:
        raise NotFoundError(f"no counselor #{counselor_id} (see `heartguard counselors list`)")
    if not counselor.active:
        raise UsageError(f"counselor #{counselor_id} is inactive")
    await revoke_unused(
        session, CounselorLinkCode, CounselorLinkCode.counselor_id, [counselor.id], now
    )
    code = new_code()
    session.add(
        CounselorLinkCode(
            code_hash=code_hash(code),
            counselor_id=counselor.id,
            expires_at=now + ttl,
            created_at=now,
        )
    )
    audit(
        session,
        now=now,
        actor=actor,
        action="counselor_code_issued",
        subject_type="counselor",
        subject_id=counselor.id,
    )
    await session.flush()
    return IssuedLink(code, counselor.id, counselor.name, now + ttl)


@dataclass(frozen=True)
class LinkResult:
    """The outcome and, when OK, the counselor now linked."""

    outcome: Redemption
    counselor_id: int | None = None
    counselor_name: str = ""


async def redeem(
    session: AsyncSession, code: str, *, channel: str, address: str, now: datetime
) -> LinkResult:
    """Spend a code and make ``address`` the counselor's first contact on ``channel``.

    One chat belongs to one counselor: a chat linked before to someone else moves, and the
    counselor's older chat on the same channel is dropped (a new phone, a new account).
    """

    async def active(row: CounselorLinkCode) -> bool:
        found = await session.get(Counselor, row.counselor_id)
        return found is not None and found.active

    outcome, row = await spend(session, CounselorLinkCode, code, now, accept=active)
    if row is None:
        return LinkResult(outcome)
    counselor = await session.get(Counselor, row.counselor_id)
    assert counselor is not None  # accepted just now, in this transaction
    await session.execute(
        delete(CounselorContact).where(
            CounselorContact.channel == channel,
            (CounselorContact.address == address) | (CounselorContact.counselor_id == counselor.id),
        )
    )
    await session.execute(
        update(CounselorContact)
        .where(CounselorContact.counselor_id == counselor.id)
        .values(rank=CounselorContact.rank + 1)
    )
    session.add(
        CounselorContact(counselor_id=counselor.id, channel=channel, address=address, rank=0)
    )
    audit(
        session,
        now=now,
        actor=f"counselor:{counselor.id}",
        action="counselor_linked",
        subject_type="counselor",
        subject_id=counselor.id,
        channel=channel,
    )
    await session.flush()
    return LinkResult(Redemption.OK, counselor.id, counselor.name)
