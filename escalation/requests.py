"""The one writer of case requests: how anything asks the green channel for a person.

The pipeline (a risk signal, a screen, ``/talk``) and the reminders (missed check-ins after a
case) both call :func:`request_case` inside their own transaction, so a request is durable
exactly when what caused it is. The engine's intake turns requests into cases.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from escalation.lifecycle import Priority, is_priority
from storage.models import CaseRequest, RiskAssessmentRecord

log = logging.getLogger(__name__)
# Details a request may carry to the counselor: codes and choices, never student text.
DETAIL_KEYS = frozenset({"flow", "preferred_time", "preferred_channel", "bands", "missed"})


def request_case(
    session: AsyncSession,
    *,
    student_id: int,
    priority: str,
    reason: str,
    now: datetime,
    categories: Iterable[str] = (),
    assessment: RiskAssessmentRecord | None = None,
    details: Mapping[str, Any] | None = None,
) -> CaseRequest:
    """Queue a request for a case in the caller's transaction; never drops one."""
    chosen: Priority = priority if is_priority(priority) else "urgent"  # type: ignore[assignment]
    if chosen != priority:
        # Never drop a request for help: an unknown priority is treated as urgent.
        log.error("case request with unknown priority %r for student %s", priority, student_id)
    request = CaseRequest(
        student_id=student_id,
        priority=chosen,
        reason=reason[:64] or "unspecified",
        categories=[str(c) for c in categories],
        assessment=assessment,
        details={k: v for k, v in (details or {}).items() if k in DETAIL_KEYS},
        created_at=now,
    )
    session.add(request)
    log.info("case requested: student=%s priority=%s reason=%s", student_id, chosen, reason)
    return request
