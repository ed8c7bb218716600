"""The data key check: refuse a wrong or stale ``HEARTGUARD_DATA_KEY`` before it does harm.

With a wrong key a process still starts, and then every message from an existing student
fails to decrypt, a crisis message included; new text is written under a key nobody keeps.
So ``heartguard db upgrade`` records the fingerprint of the key the database is written with
(``storage.crypto.fingerprint``), ``db rotate-key`` moves it to the new key and marks the old
ones retired, and every process compares its own keys at start:

- its first key is the recorded one: fine;
- its first key is new but a later one is the recorded one: a rotation in progress (the
  documented order: new key first, then ``db rotate-key``): fine, with a warning;
- its first key was retired by a rotation: refused, the key is stale;
- none of its keys is the recorded one: refused, the key is wrong.

A database migrated before the check existed has no fingerprint yet: its key is tried on one
stored ciphertext instead, and ``db upgrade`` records it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.crypto import DataCipher, DataKeyError
from storage.db import session_factory
from storage.models import Conversation, DataKeyCheck, EnrollmentCode, Message, SafetyPlan

log = logging.getLogger(__name__)
CURRENT, RETIRED = "current", "retired"


@dataclass(frozen=True)
class KeyState:
    """What the check found: the key may be used; ``note`` is a warning worth a log line."""

    recorded: bool
    rotating: bool = False
    note: str = ""


async def check_key(session: AsyncSession, cipher: DataCipher) -> KeyState:
    """Compare the process's keys with the database's record.

    Raises:
        DataKeyError: one line naming the problem, for a wrong or stale key.
    """
    rows = dict((await session.execute(select(DataKeyCheck.fingerprint, DataKeyCheck.state))).all())
    primary, others = cipher.fingerprints[0], cipher.fingerprints[1:]
    if not rows:
        await _try_stored(session, cipher)
        return KeyState(
            recorded=False, note="no data key check recorded yet: run `heartguard db upgrade`"
        )
    if rows.get(primary) == CURRENT:
        return KeyState(recorded=True)
    if rows.get(primary) == RETIRED:
        raise DataKeyError(
            "HEARTGUARD_DATA_KEY is stale: its first key was retired by `heartguard db "
            "rotate-key`; put the current key first"
        )
    if any(rows.get(other) == CURRENT for other in others):
        return KeyState(
            recorded=True,
            rotating=True,
            note="the first HEARTGUARD_DATA_KEY is new: run `heartguard db rotate-key` to finish",
        )
    raise DataKeyError(
        "HEARTGUARD_DATA_KEY is wrong: none of its keys is the one this database was written with"
    )


async def _try_stored(session: AsyncSession, cipher: DataCipher) -> None:
    """Before any fingerprint exists: the key must open what is already stored."""
    for column in (
        Message.text_enc,
        Conversation.context_enc,
        SafetyPlan.plan_enc,
        EnrollmentCode.code_enc,
    ):
        token = await session.scalar(select(column).where(column.is_not(None)).limit(1))
        if token is None:
            continue
        try:
            cipher.decrypt(token)
        except InvalidToken:
            raise DataKeyError(
                "HEARTGUARD_DATA_KEY is wrong: it cannot decrypt the text already stored in "
                "this database"
            ) from None
        return


async def record_key(session: AsyncSession, cipher: DataCipher, now: datetime) -> bool:
    """At ``db upgrade``: record the first key when nothing is recorded (after checking it).

    Returns whether a fingerprint was written.
    """
    state = await check_key(session, cipher)
    if state.recorded:
        return False
    session.add(DataKeyCheck(fingerprint=cipher.fingerprints[0], state=CURRENT, recorded_at=now))
    return True


async def rotated(session: AsyncSession, cipher: DataCipher, now: datetime) -> None:
    """After ``db rotate-key``: the first key is current, every other key is retired."""
    primary = cipher.fingerprints[0]
    await session.execute(
        update(DataKeyCheck)
        .where(DataKeyCheck.fingerprint != primary)
        .values(state=RETIRED, recorded_at=now)
    )
    known = set((await session.scalars(select(DataKeyCheck.fingerprint))).all())
    for fp in cipher.fingerprints[1:]:
        if fp not in known and fp != primary:
            session.add(DataKeyCheck(fingerprint=fp, state=RETIRED, recorded_at=now))
    if primary in known:
        await session.execute(
            update(DataKeyCheck)
            .where(DataKeyCheck.fingerprint == primary)
            .values(state=CURRENT, recorded_at=now)
        )
    else:
        session.add(DataKeyCheck(fingerprint=primary, state=CURRENT, recorded_at=now))
    log.info(
        "data key check: the first key is now current, %s other(s) retired",
        len(cipher.fingerprints) - 1,
    )


async def check_before_upgrade(engine: AsyncEngine, cipher: DataCipher) -> None:
    """Before migrating: a wrong key must not encrypt anything (0006 encrypts notes).

    Raises:
        DataKeyError: for a wrong or stale key.
    """
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    if "messages" not in tables:
        return  # an empty database: any key is the first
    async with session_factory(engine)() as session:
        if "data_key_checks" in tables:
            await check_key(session, cipher)
        else:
            await _try_stored(session, cipher)
