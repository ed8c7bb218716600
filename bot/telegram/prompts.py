"""Which question a chat's buttons currently answer, kept in the database.

The token survives restarts and is shared by every bot process, so a button shown before a
restart still works after it, and an older keyboard stays stale everywhere. The pipeline
writes it in the transaction of the step that asked the question (``prompt_of``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ChannelIdentity, Student

CHANNEL = "telegram"


@dataclass(frozen=True)
class Prompt:
    """The current question's token (None: no buttons are live) and the student's language."""

    token: str | None
    language: str


class PromptStore:
    """Reads ``student_channels.prompt`` for Telegram identities."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def current(self, user_id: int) -> Prompt | None:
        """The live prompt of a Telegram user, or None when they are not (or no longer) known."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(ChannelIdentity.prompt, Student.language)
                    .join(Student, Student.id == ChannelIdentity.student_id)
                    .where(
                        ChannelIdentity.channel == CHANNEL,
                        ChannelIdentity.external_id == str(user_id),
                    )
                )
            ).first()
        return Prompt(row[0], row[1]) if row is not None else None
