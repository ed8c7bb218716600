"""Where a student's chat is, who a counselor is reachable at, and what was said lately.

Small read-only queries the takeover service and its answer timer share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import DataCipher
from storage.models import ChannelIdentity, CounselorContact, Message

# Kinds of stored messages whose words a counselor may be shown.
WORDS = ("text", "edited", "caption", "counselor")


@dataclass(frozen=True)
class Line:
    """One recent message, shown to the counselor who takes the chat."""

    at: datetime
    from_student: bool
    text: str


async def student_address(session: AsyncSession, student_id: int) -> tuple[str, str] | None:
    """(channel, chat id) of the chat the student last wrote from."""
    last = (
        await session.execute(
            select(Message.channel, Message.channel_chat_id)
            .where(
                Message.student_id == student_id,
                Message.direction == "in",
                Message.channel_chat_id.is_not(None),
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
    ).first()
    if last is not None and last[1]:
        return str(last[0]), str(last[1])
    identity = await session.scalar(
        select(ChannelIdentity)
        .where(ChannelIdentity.student_id == student_id)
        .order_by(ChannelIdentity.id.desc())
        .limit(1)
    )
    if identity is None:
        return None
    return identity.channel, identity.chat_id or identity.external_id


async def contacts_of(session: AsyncSession, counselor_id: int) -> tuple[tuple[str, str], ...]:
    """A counselor's (channel, address) contacts, in rank order."""
    rows = await session.execute(
        select(CounselorContact.channel, CounselorContact.address)
        .where(CounselorContact.counselor_id == counselor_id)
        .order_by(CounselorContact.rank, CounselorContact.id)
    )
    return tuple((str(c), str(a)) for c, a in rows.all())


async def recent_lines(
    session: AsyncSession, cipher: DataCipher, student_id: int, limit: int
) -> tuple[Line, ...]:
    """The last ``limit`` messages with words, both ways, oldest first (decrypted)."""
    rows = (
        await session.scalars(
            select(Message)
            .where(
                Message.student_id == student_id,
                Message.text_enc.is_not(None),
                Message.kind.in_(WORDS),
            )
            .order_by(Message.id.desc())
            .limit(limit)
        )
    ).all()
    return tuple(
        Line(m.created_at, m.direction == "in", cipher.decrypt(m.text_enc))
        for m in reversed(rows)
        if m.text_enc is not None
    )
