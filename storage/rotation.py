"""Re-encrypt every ciphertext column under the primary data key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from storage.crypto import DataCipher
from storage.models import (
    CaseEvent,
    Conversation,
    EnrollmentCode,
    Message,
    SafetyPlan,
    WeChatReceipt,
)

# (primary key column, ciphertext column) of every encrypted field.
ENCRYPTED: tuple[tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]], ...] = (
    (Message.id, Message.text_enc),
    (Message.id, Message.extra_enc),
    (WeChatReceipt.id, WeChatReceipt.reply_enc),
    (Conversation.student_id, Conversation.context_enc),
    (EnrollmentCode.id, EnrollmentCode.code_enc),
    (SafetyPlan.student_id, SafetyPlan.plan_enc),
    (CaseEvent.id, CaseEvent.note_enc),
)
BATCH = 500


async def rotate_all(sessions: async_sessionmaker[AsyncSession], cipher: DataCipher) -> int:
    """Rotate in batches, one transaction each, so a large table never holds one huge lock.

    Returns the number of values re-encrypted. Safe to run again after an interruption: values
    already under the primary key are skipped.
    """
    total = 0
    for key, column in ENCRYPTED:
        last: Any = None
        while True:
            async with sessions.begin() as session:
                query = select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
                if last is not None:
                    query = query.where(key > last)
                rows = (await session.execute(query)).all()
                for ident, token in rows:
                    if not cipher.is_current(token):
                        await session.execute(
                            update(key.class_)
                            .where(key == ident)
                            .values({column.key: cipher.rotate(token)})
                        )
                        total += 1
            if len(rows) < BATCH:
                break
            last = rows[-1][0]
    return total
