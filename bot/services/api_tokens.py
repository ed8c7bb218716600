"""Bearer tokens for the integration API: issued once, stored as a hash, revoked for good.

A token acts as its counselor: whatever the API does with it goes through the same scope
checks (``Actor.counselor``) as that counselor's own actions, and a deactivated counselor's
tokens stop working at once.

Why SHA-256 and not Argon2: a token is 256 random bits (``secrets.token_urlsafe(32)``), so no
dictionary or brute force can find it from its hash, and a fast hash lets every API call be
checked with one indexed look-up. Argon2's slowness protects low-entropy secrets that people
choose; it is used for console passwords (see :mod:`bot.services.console_login`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import HeartGuardError
from storage.audit import audit
from storage.models import ApiToken, Counselor

PREFIX = "hgt_"  # recognisable in a leaked-secrets scan


def token_hash(token: str) -> str:
    """The stored, searchable form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A token just issued: ``token`` is shown once and never stored."""

    id: int
    counselor_id: int
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Authenticated:
    """The counselor a valid token acts as."""

    counselor_id: int
    name: str
    scope: str
    token_id: int


async def issue(
    session: AsyncSession,
    counselor_id: int,
    *,
    ttl: timedelta,
    now: datetime,
    actor: str,
    label: str = "",
) -> Issued:
    """A new token for an active counselor (raises HeartGuardError otherwise)."""
    counselor = await session.get(Counselor, counselor_id)
    if counselor is None or not counselor.active:
        raise HeartGuardError(f"no active counselor #{counselor_id}")
    if ttl <= timedelta(0):
        raise HeartGuardError("--ttl must be positive, such as 30d")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        counselor_id=counselor_id,
        token_hash=token_hash(token),
        label=label[:100],
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    audit(
        session,
        now=now,
        actor=actor,
        action="api_token_issued",
        subject_type="counselor",
        subject_id=counselor_id,
        token_id=row.id,
    )
    return Issued(row.id, counselor_id, token, row.expires_at)


async def listing(session: AsyncSession) -> Sequence[ApiToken]:
    """Every token, newest first (hashes only)."""
    return (await session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))).all()


async def revoke(session: AsyncSession, token_id: int, *, now: datetime, actor: str) -> bool:
    """Revoke a token; False when it does not exist or was already revoked."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    audit(
        session,
        now=now,
        actor=actor,
        action="api_token_revoked",
        subject_type="counselor",
        subject_id=row.counselor_id,
        token_id=row.id,
    )
    return True


async def authenticate(session: AsyncSession, token: str, now: datetime) -> Authenticated | None:
    """The counselor a presented token acts as; None when unknown, revoked or expired."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The look-up is by hash, so timing says nothing about the token; compare anyway.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    counselor = await session.get(Counselor, row.counselor_id)
    if counselor is None or not counselor.active:
        return None
    row.last_used_at = now
    return Authenticated(counselor.id, counselor.name, counselor.scope, row.id)
