"""Server-side sessions for browsers: a student on the chat page, later a counselor.

The browser holds a random token; the database holds only its SHA-256, so a copy of the
database opens no session. A session expires ``lifetime`` after it was last used (it slides
forward, written at most once a minute), and ends at once when its owner signs out.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from storage.models import WebSession

# Sliding expiry is written at most this often per session: a page that polls would
# otherwise write on every request.
TOUCH_EVERY = timedelta(minutes=1)
TOKEN_BYTES = 32
# A session found is trusted this long without asking the database again (every send and
# every stream asks). A sign-out in this process takes effect at once; one in another
# process within this many seconds.
REMEMBER_SECONDS = 10.0
_REMEMBER_AT_MOST = 10_000


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    """One live session: who it is and how long it lasts."""

    id: int
    kind: str
    subject: str
    shared: bool
    seen_at: datetime
    expires_at: datetime


def _record(row: WebSession) -> SessionRecord:
    return SessionRecord(row.id, row.kind, row.subject, row.shared, row.seen_at, row.expires_at)


class SessionStore:
    """Opens, finds, refreshes and ends sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._found: dict[str, tuple[SessionRecord, float]] = {}

    def _remember(self, digest: str, record: SessionRecord) -> None:
        if len(self._found) >= _REMEMBER_AT_MOST:
            self._found.clear()
        self._found[digest] = (record, time.monotonic())

    def _forget(self, record: SessionRecord) -> None:
        for digest, (known, _) in list(self._found.items()):
            if known.id == record.id:
                del self._found[digest]

    async def open(
        self, kind: str, subject: str, *, shared: bool, lifetime: timedelta
    ) -> tuple[str, SessionRecord]:
        """A new session; returns the token for the cookie (never stored) and the record."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        row = WebSession(
            token_hash=token_hash(token),
            kind=kind,
            subject=subject,
            shared=shared,
            created_at=now,
            seen_at=now,
            expires_at=now + lifetime,
        )
        async with self.sessions.begin() as session:
            session.add(row)
        return token, _record(row)

    async def find(self, token: str, kind: str) -> SessionRecord | None:
        """The live session of this token, or None (unknown, ended, expired, other kind)."""
        now = self.clock()
        digest = token_hash(token)
        remembered = self._found.get(digest)
        if remembered is not None:
            record, at = remembered
            fresh = time.monotonic() - at < REMEMBER_SECONDS
            if fresh and record.kind == kind and record.expires_at > now:
                return record
            del self._found[digest]
        async with self.sessions() as session:
            row = await session.scalar(
                select(WebSession).where(
                    WebSession.token_hash == digest,
                    WebSession.kind == kind,
                    WebSession.ended_at.is_(None),
                    WebSession.expires_at > now,
                )
            )
        if row is None:
            return None
        record = _record(row)
        self._remember(digest, record)
        return record

    async def touch(self, record: SessionRecord, lifetime: timedelta) -> SessionRecord:
        """Slide the expiry forward after use (written at most once a minute)."""
        now = self.clock()
        if now - record.seen_at < TOUCH_EVERY:
            return record
        self._forget(record)
        expires = now + lifetime
        async with self.sessions.begin() as session:
            await session.execute(
                update(WebSession)
                .where(WebSession.id == record.id)
                .values(seen_at=now, expires_at=expires)
            )
        return SessionRecord(record.id, record.kind, record.subject, record.shared, now, expires)

    async def set_shared(
        self, record: SessionRecord, shared: bool, lifetime: timedelta
    ) -> SessionRecord:
        """Turn shared-computer mode on or off; the expiry follows the mode's lifetime."""
        self._forget(record)
        now = self.clock()
        expires = now + lifetime
        async with self.sessions.begin() as session:
            await session.execute(
                update(WebSession)
                .where(WebSession.id == record.id)
                .values(shared=shared, seen_at=now, expires_at=expires)
            )
        return SessionRecord(record.id, record.kind, record.subject, shared, now, expires)

    async def end(self, record: SessionRecord) -> None:
        """Sign out: the token opens nothing from now on."""
        self._forget(record)
        async with self.sessions.begin() as session:
            await session.execute(
                update(WebSession).where(WebSession.id == record.id).values(ended_at=self.clock())
            )

    async def end_subject(self, kind: str, subject: str) -> int:
        """End every session of one subject (a student who erased their data)."""
        self._found = {d: (r, at) for d, (r, at) in self._found.items() if r.subject != subject}
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(WebSession)
                .where(
                    WebSession.kind == kind,
                    WebSession.subject == subject,
                    WebSession.ended_at.is_(None),
                )
                .values(ended_at=self.clock())
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def prune(self, *, keep: timedelta = timedelta(days=1)) -> int:
        """Delete sessions that expired or ended more than ``keep`` ago."""
        cutoff = self.clock() - keep
        async with self.sessions.begin() as session:
            result = await session.execute(
                delete(WebSession).where(
                    or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff)
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)
