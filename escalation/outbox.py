"""The transactional outbox: notification rows, claimed by workers, retried with backoff.

Claiming: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers take disjoint rows;
on SQLite, which ignores row locks, every transaction starts with ``BEGIN IMMEDIATE`` (see
``storage.db``) so there is one writer at a time, and the claim is a conditional
``UPDATE … RETURNING`` that only takes rows still due.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from escalation.lease import LEASE
from escalation.roster import Recipient
from storage.models import Case, Hospital, Notification

MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=5)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter: a random wait up to base × 2^(attempts−1)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    fraction = (rng or random).random()
    wait: timedelta = ceiling * fraction
    return max(timedelta(seconds=1), wait)


def _key(case: Case, kind: str, tier: str, recipient: str, rank: int, suffix: str) -> str:
    return f"case:{case.id}:{kind}:t{case.token}:{suffix}:{tier}:{recipient}:c{rank}"


async def enqueue(
    session: AsyncSession,
    case: Case,
    *,
    recipient: Recipient,
    tier: str,
    kind: str,
    now: datetime,
    suffix: str,
    rank: int = 0,
    extra: dict[str, str] | None = None,
    fresh: bool = False,
) -> Notification | None:
    """Queue a notification for a recipient's channel at ``rank``; idempotent by key.

    ``fresh`` skips the look-up for an existing key, for callers that know it is new.
    """
    if rank >= len(recipient.contacts):
        return None
    channel, address = recipient.contacts[rank]
    key = _key(case, kind, tier, f"{recipient.kind}{recipient.ident}", rank, suffix)
    if not fresh:
        existing = await session.scalar(
            select(Notification.id).where(Notification.idempotency_key == key)
        )
        if existing is not None:
            return None
    row = Notification(
        case_id=case.id,
        idempotency_key=key,
        kind=kind,
        recipient_type=recipient.kind,
        recipient_id=recipient.ident,
        contact_rank=rank,
        channel=channel,
        address=address,
        tier=tier,
        token=case.token,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        extra=dict(extra or {}),
        created_at=now,
    )
    session.add(row)
    return row


async def enqueue_referrals(
    session: AsyncSession, case: Case, now: datetime, hospital_id: int | None = None
) -> int:
    """A minimal referral packet to every active hospital, or to the one the counselor chose."""
    query = select(Hospital).where(Hospital.active.is_(True), Hospital.disabled_at.is_(None))
    if hospital_id is not None:
        query = query.where(Hospital.id == hospital_id)
    hospitals = (await session.scalars(query)).all()
    count = 0
    for hospital in hospitals:
        recipient = Recipient(
            "hospital",
            hospital.id,
            hospital.name,
            "hospital",
            ((hospital.channel, hospital.address),),
        )
        stamp = f"ref{int(now.timestamp())}"
        if (
            await enqueue(
                session,
                case,
                recipient=recipient,
                tier="hospital",
                kind="referral",
                now=now,
                suffix=stamp,
            )
            is not None
        ):
            count += 1
    return count


async def enqueue_updates(session: AsyncSession, case: Case, now: datetime, reason: str) -> int:
    """Tell everyone who got an alert about this case that it changed.

    Channels that can edit (Telegram) update the alert in place, through ``edit_message_id``.
    """
    sent = (
        await session.scalars(
            select(Notification)
            .where(
                Notification.case_id == case.id,
                Notification.kind == "alert",
                Notification.status == "sent",
            )
            .order_by(Notification.id)
        )
    ).all()
    seen: set[tuple[str, str]] = set()
    count = 0
    stamp = f"upd{int(now.timestamp())}{reason}"
    for row in sent:
        if (row.channel, row.address) in seen or row.channel != "telegram":
            continue  # e-mail and robots get no noise for every status change
        seen.add((row.channel, row.address))
        recipient = Recipient(
            row.recipient_type, row.recipient_id, "", "", ((row.channel, row.address),)
        )
        extra = {"edit_message_id": row.external_id} if row.external_id else {}
        if (
            await enqueue(
                session,
                case,
                recipient=recipient,
                tier=row.tier,
                kind="update",
                now=now,
                suffix=stamp,
                extra=extra,
            )
            is not None
        ):
            count += 1
    return count


@dataclass(frozen=True)
class Claimed:
    """A notification a worker now holds until ``lease_until``."""

    id: int
    case_id: int
    attempts: int


async def claim(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta = LEASE,
    channels: Collection[str] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due rows for this worker, in the caller's transaction.

    ``channels``: only rows this process can send. A row of a channel no running process can
    send stays queued (never dead) until one can, and the auditor reports it as stuck.
    """
    due = (
        select(Notification.id)
        .where(
            Notification.channel.in_(sorted(channels)) if channels is not None else true(),
            or_(
                and_(
                    Notification.status.in_(("pending", "failed")),
                    Notification.next_attempt_at <= now,
                ),
                # A row left "sending" by a crashed worker, past its lease.
                and_(Notification.status == "sending", Notification.lease_until < now),
            ),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            or_(
                Notification.status.in_(("pending", "failed")),
                and_(Notification.status == "sending", Notification.lease_until < now),
            ),
        )
        # Not an attempt yet: the dispatcher counts one only when it is about to send, so a
        # worker killed between claim and send does not bring the row closer to dead.
        .values(status="sending", lease_until=now + lease)
        .returning(Notification.id, Notification.case_id, Notification.attempts)
    )
    return [Claimed(i, c, a) for i, c, a in result.all()]


async def mark_failed(
    session: AsyncSession,
    row: Notification,
    now: datetime,
    error: str,
    *,
    permanent: bool,
    rng: random.Random | None = None,
) -> bool:
    """A failed attempt: retry later, or dead when permanent or out of attempts.

    Returns True when the row is now dead (the caller moves on to the next channel).
    """
    dead = permanent or row.attempts >= MAX_ATTEMPTS
    row.status = "dead" if dead else "failed"
    row.last_error = error[:500]
    row.lease_until = None
    row.next_attempt_at = now + (timedelta(0) if dead else backoff(row.attempts, rng))
    return dead


async def stuck(session: AsyncSession, now: datetime) -> Sequence[Notification]:
    """Rows still "sending" past their lease: a worker died mid-send."""
    return (
        await session.scalars(
            select(Notification).where(
                Notification.status == "sending", Notification.lease_until < now
            )
        )
    ).all()
