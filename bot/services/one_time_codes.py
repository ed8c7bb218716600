"""One-time codes, whatever they link: the alphabet, the hash, revoking older ones, spending.

Enrollment codes link a chat to a roster student; counselor link codes link a chat to a
counselor. Both are 10 symbols from a 31-letter alphabet without look-alikes (about 49 bits),
shown as ``XXXXX-XXXXX``; only their SHA-256 is searchable. A code expires, is spent once
(a conditional update, so two chats racing for one code cannot both win), and issuing a new
one revokes the holder's older unused codes.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from storage.models import CounselorLinkCode, EnrollmentCode

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
# Batches of ids per UPDATE, within every database's parameter limit.
CHUNK = 500
CodeRow = TypeVar("CodeRow", EnrollmentCode, CounselorLinkCode)


class Redemption(enum.StrEnum):
    """What happened to a code someone typed."""

    OK = "ok"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"


def new_code() -> str:
    """A fresh random code, formatted for people."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def canonical(code: str) -> str:
    """Forgiving form of what was typed: case, spaces, dashes and full width ignored."""
    text = unicodedata.normalize("NFKC", code).upper()
    return "".join(ch for ch in text if ch.isalnum())


def looks_like_code(text: str) -> bool:
    """A typed enrollment or link code: not words, so not for the risk detector.

    Random codes can spell slang by chance (ZS32Z); scanning them would start a screen in
    the middle of onboarding.
    """
    stripped = text.strip()
    if not 8 <= len(stripped) <= 14 or " " in stripped:
        return False
    raw = canonical(stripped)
    return len(raw) == LENGTH and all(ch in ALPHABET for ch in raw)


def code_hash(code: str) -> str:
    """The searchable digest of a code."""
    return hashlib.sha256(canonical(code).encode("ascii", "ignore")).hexdigest()


def check_ttl(ttl: timedelta) -> timedelta:
    """Refuse codes that would never expire or expire at once."""
    if ttl <= timedelta(0) or ttl > timedelta(days=366):
        raise UsageError("--ttl: expected a duration between 1m and 366d")
    return ttl


async def revoke_unused(
    session: AsyncSession, model: type[CodeRow], owner: Any, ids: list[int], now: datetime
) -> None:
    """Revoke the unused codes of these holders (``owner`` is the model's holder column)."""
    for start in range(0, len(ids), CHUNK):
        await session.execute(
            update(model)
            .where(
                owner.in_(ids[start : start + CHUNK]),
                model.used_at.is_(None),
                model.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )


async def spend(
    session: AsyncSession,
    model: type[CodeRow],
    code: str,
    now: datetime,
    accept: Callable[[CodeRow], Awaitable[bool]] | None = None,
) -> tuple[Redemption, CodeRow | None]:
    """Spend a code inside the caller's transaction; the row only when it was spent now.

    ``accept`` may refuse a live code (its holder is gone) before it is spent: INVALID.
    """
    if not 4 <= len(canonical(code)) <= 32:
        return Redemption.INVALID, None
    row = await session.scalar(select(model).where(model.code_hash == code_hash(code)))
    if row is None or row.revoked_at is not None:
        return Redemption.INVALID, None
    if row.used_at is not None:
        return Redemption.USED, None
    if row.expires_at <= now:
        return Redemption.EXPIRED, None
    if accept is not None and not await accept(row):
        return Redemption.INVALID, None
    # Conditional on still being unused, so two chats racing for one code cannot both win.
    spent = await session.execute(
        update(model)
        .where(model.id == row.id, model.used_at.is_(None))
        .values(used_at=now)
        .returning(model.id)
    )
    if spent.first() is None:
        return Redemption.USED, None
    return Redemption.OK, row
