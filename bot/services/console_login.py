"""Console sign-in for counselors: an Argon2 password, an optional TOTP code, rate limits.

``heartguard counselors password ID [--totp]`` sets the password (and prints a TOTP secret
once); the console calls :func:`verify_login`. Failed attempts are counted in the database per
counselor and per source address, so a restart or a second web process does not reset them:
after ``access.login_max_failures`` within ``access.login_window`` the key is locked for
``access.lockout`` and every attempt fails, even with the right password. Only a success
clears the counselor's count (the source's keeps counting: one address guessing at many
counselors is still slowed down).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import HeartGuardError
from storage.audit import audit
from storage.crypto import DataCipher
from storage.models import Counselor, CounselorLogin, LoginThrottle

log = logging.getLogger(__name__)
MIN_PASSWORD = 10
_HASHER = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified against when the counselor is unknown, so timing does not tell who exists.
_DUMMY = _HASHER.hash("heartguard-no-such-counselor")


@dataclass(frozen=True)
class Limits:
    """How many failures, in what window, lock a key for how long."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


async def set_password(
    session: AsyncSession,
    cipher: DataCipher,
    counselor_id: int,
    password: str,
    *,
    totp: bool,
    now: datetime,
    actor: str,
) -> str | None:
    """Set a counselor's console password; returns a new TOTP secret when ``totp``.

    Without ``totp`` any earlier TOTP secret is removed.
    """
    counselor = await session.get(Counselor, counselor_id)
    if counselor is None:
        raise HeartGuardError(f"no counselor #{counselor_id}")
    if len(password) < MIN_PASSWORD:
        raise HeartGuardError(f"the password needs at least {MIN_PASSWORD} characters")
    secret = pyotp.random_base32() if totp else None
    row = await session.get(CounselorLogin, counselor_id)
    if row is None:
        row = CounselorLogin(counselor_id=counselor_id, password_hash="", updated_at=now)
        session.add(row)
    row.password_hash = _HASHER.hash(password)
    row.totp_enc = cipher.encrypt(secret) if secret else None
    row.updated_at = now
    audit(
        session,
        now=now,
        actor=actor,
        action="console_password_set",
        subject_type="counselor",
        subject_id=counselor_id,
        totp=bool(secret),
    )
    return secret


async def _throttle(session: AsyncSession, key: str, now: datetime) -> LoginThrottle:
    row = await session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    return row


def _locked(row: LoginThrottle, now: datetime) -> bool:
    return row.locked_until is not None and row.locked_until > now


def _fail(row: LoginThrottle, now: datetime, limits: Limits) -> None:
    if now - row.window_start >= limits.window:
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limits.max_failures:
        row.locked_until = now + limits.lockout
        row.failures, row.window_start = 0, now


async def _counselor(session: AsyncSession, who: int | str) -> Counselor | None:
    if isinstance(who, int) or who.isdigit():
        return await session.get(Counselor, int(who))
    found = (await session.scalars(select(Counselor).where(Counselor.name == who).limit(2))).all()
    return found[0] if len(found) == 1 else None  # an ambiguous name signs in nobody


async def verify_login(
    session: AsyncSession,
    cipher: DataCipher,
    who: int | str,
    password: str,
    totp: str | None,
    *,
    source: str,
    now: datetime,
    limits: Limits = Limits(),
) -> int | None:
    """The counselor's id when the password (and TOTP code, if set) are right, else None.

    Commit the session afterwards either way: the counts are the point.
    """
    counselor = await _counselor(session, who)
    subject = f"counselor:{counselor.id}" if counselor is not None else f"name:{str(who)[:60]}"
    keys = [
        await _throttle(session, subject, now),
        await _throttle(session, f"source:{source[:100]}", now),
    ]
    if any(_locked(row, now) for row in keys):
        log.warning("sign-in refused: %s or source locked", subject)
        return None
    login = await session.get(CounselorLogin, counselor.id) if counselor is not None else None
    ok = False
    try:
        ok = _HASHER.verify(login.password_hash if login is not None else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and (counselor is None or login is None or not counselor.active):
        ok = False
    if ok and login is not None and login.totp_enc is not None:
        secret = cipher.decrypt(login.totp_enc)
        ok = bool(totp) and pyotp.TOTP(secret).verify(str(totp), for_time=now, valid_window=1)
    if not ok or counselor is None or login is None:
        for row in keys:
            _fail(row, now, limits)
        log.info("sign-in failed for %s", subject)
        return None
    keys[0].failures, keys[0].locked_until = 0, None
    if _HASHER.check_needs_rehash(login.password_hash):
        login.password_hash = _HASHER.hash(password)
    audit(
        session,
        now=now,
        actor=f"counselor:{counselor.id}",
        action="console_signed_in",
        subject_type="counselor",
        subject_id=counselor.id,
    )
    return counselor.id
