"""The audit trail's one writer: who did what to which record, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


def audit(
    session: AsyncSession,
    *,
    now: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: object,
    **details: object,
) -> None:
    """Append an audit event (ids and counts only, never student text)."""
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            details=dict(details),
        )
    )
