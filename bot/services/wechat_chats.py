"""What HeartGuard keeps about WeChat chats: receipts, service windows, the chat page's identity.

- **Receipts**: WeChat retries a message it got no answer to three times, with the same
  MsgId. A receipt row is inserted (by a hash of that id) before the message is handled, so a
  retry or a replay is never handled twice, in any process; the passive reply is kept,
  encrypted, so a retry after a lost answer can repeat it.
- **Windows**: after a student's message the account may send five customer-service messages
  within 48 hours. Each send takes a slot with one conditional UPDATE, so processes sharing
  the database never exceed the limit.
- **The page's identity**: a WeChat chat opens the chat page (H5) as a "web" identity of the
  same student, so the page shows the conversation and continues it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from storage.crypto import DataCipher
from storage.models import ChannelIdentity, WeChatReceipt, WeChatWindow

WECHAT = "wechat"
WEB = "web"


def receipt_key(*parts: str) -> str:
    """The stored key of a delivered message: a hash, so no openid is kept in it."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Receipt:
    """A message's receipt: whether this call is its first, its status, a kept reply."""

    first: bool
    status: str
    reply: str | None = None


def _insert(session: AsyncSession) -> type[postgresql.Insert] | type[sqlite.Insert]:
    dialect = session.get_bind().dialect.name
    return postgresql.Insert if dialect == "postgresql" else sqlite.Insert


class WeChatChats:
    """Receipts, windows and page identities of WeChat chats."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, *, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.clock = clock

    # -- receipts ----------------------------------------------------------------------------

    async def receive(self, key: str) -> Receipt:
        """Record a delivered message; ``first`` is False for a retry or a replay."""
        async with self.sessions.begin() as session:
            insert = _insert(session)
            inserted = await session.scalar(
                insert(WeChatReceipt)
                .values(msg_key=key, status="handling", created_at=self.clock())
                .on_conflict_do_nothing(index_elements=["msg_key"])
                .returning(WeChatReceipt.id)
            )
            if inserted is not None:
                return Receipt(first=True, status="handling")
            row = await session.scalar(select(WeChatReceipt).where(WeChatReceipt.msg_key == key))
        if row is None:  # pruned between the two statements: treat it as seen
            return Receipt(first=False, status="late")
        reply = self.cipher.decrypt(row.reply_enc) if row.reply_enc is not None else None
        return Receipt(first=False, status=row.status, reply=reply)

    async def status(self, key: str) -> Receipt:
        """A receipt as it stands now."""
        async with self.sessions() as session:
            row = await session.scalar(select(WeChatReceipt).where(WeChatReceipt.msg_key == key))
        if row is None:
            return Receipt(first=False, status="late")
        reply = self.cipher.decrypt(row.reply_enc) if row.reply_enc is not None else None
        return Receipt(first=False, status=row.status, reply=reply)

    async def answered(self, key: str, reply: str) -> bool:
        """Keep the passive reply; False when the answer was already given up on (late)."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(WeChatReceipt)
                .where(WeChatReceipt.msg_key == key, WeChatReceipt.status == "handling")
                .values(status="answered", reply_enc=self.cipher.encrypt(reply))
            )
        return bool(getattr(result, "rowcount", 0))

    async def give_up_passive(self, key: str) -> bool:
        """The passive answer's time ran out: the reply goes by the send API instead.

        False when the reply was stored in the meantime (it can still go passively).
        """
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(WeChatReceipt)
                .where(WeChatReceipt.msg_key == key, WeChatReceipt.status == "handling")
                .values(status="late")
            )
        return bool(getattr(result, "rowcount", 0))

    async def prune(self, *, keep: timedelta = timedelta(days=2)) -> int:
        """Forget receipts older than any retry (WeChat retries within seconds)."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(WeChatReceipt).where(WeChatReceipt.created_at < self.clock() - keep)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- the customer-service window ---------------------------------------------------------

    async def _identity(self, session: AsyncSession, openid: str) -> ChannelIdentity | None:
        return await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == WECHAT, ChannelIdentity.external_id == openid
            )
        )

    async def wrote(self, openid: str, at: datetime) -> None:
        """The student wrote: a fresh window opens."""
        async with self.sessions.begin() as session:
            identity = await self._identity(session, openid)
            if identity is None:
                return
            insert = _insert(session)
            await session.execute(
                insert(WeChatWindow)
                .values(identity_id=identity.id, last_inbound_at=at, sent_since=0)
                .on_conflict_do_update(
                    index_elements=["identity_id"], set_={"last_inbound_at": at, "sent_since": 0}
                )
            )

    async def take_slot(self, openid: str, *, window: timedelta, limit: int) -> bool:
        """Claim one customer-service message of the open window; False when none is left."""
        now = self.clock()
        async with self.sessions.begin() as session:
            identity = await self._identity(session, openid)
            if identity is None:
                return False
            result = await session.execute(
                update(WeChatWindow)
                .where(
                    WeChatWindow.identity_id == identity.id,
                    WeChatWindow.sent_since < limit,
                    WeChatWindow.last_inbound_at > now - window,
                )
                .values(sent_since=WeChatWindow.sent_since + 1)
            )
        return bool(getattr(result, "rowcount", 0))

    # -- the chat page -----------------------------------------------------------------------

    async def page_identity(self, openid: str) -> str | None:
        """The chat page's identity for this WeChat chat (made on first use); None if unknown."""
        subject = "x" + receipt_key("page", openid)[:40]
        async with self.sessions.begin() as session:
            identity = await self._identity(session, openid)
            if identity is None:
                return None
            page = await session.scalar(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == WEB, ChannelIdentity.external_id == subject
                )
            )
            if page is None:
                session.add(
                    ChannelIdentity(
                        student_id=identity.student_id,
                        channel=WEB,
                        external_id=subject,
                        chat_id=subject,
                        prompt=identity.prompt,
                        created_at=self.clock(),
                    )
                )
            elif page.student_id != identity.student_id:
                page.student_id = identity.student_id  # moved with a roster link or erasure
        return subject
