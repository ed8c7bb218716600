"""Applying flow events inside the pipeline's transaction.

Each handler records what the flow decided (a consent, a score, a case request) in the same
transaction as the message, so a crash can never keep one without the other. A handler may
return a system answer (``code_ok`` …) that the pipeline feeds back to the flow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import Settings
from bot.services import enrollment, students
from flows import Event
from storage.crypto import DataCipher
from storage.models import CaseRequest, CheckinResult, RiskAssessmentRecord, SafetyPlan, Student

log = logging.getLogger(__name__)
PRIORITIES = ("routine", "urgent", "emergency")


@dataclass
class EventContext:
    """What an event handler may touch."""

    session: AsyncSession
    cipher: DataCipher
    settings: Settings
    now: datetime
    student: Student
    assessment: RiskAssessmentRecord | None
    outcome: Any  # bot.services.pipeline.Outcome (kept loose to avoid an import cycle)
    plan: dict[str, str] | None = None


Handler = Callable[[EventContext, dict[str, Any]], Awaitable[str | None]]


async def _code(ctx: EventContext, data: dict[str, Any]) -> str | None:
    result = await enrollment.redeem(ctx.session, str(data.get("code", "")), now=ctx.now)
    if result.outcome is not enrollment.Redemption.OK or result.student_id is None:
        return f"code_{result.outcome.value}"
    ctx.student = await students.link_to_roster(ctx.session, ctx.student, result.student_id)
    ctx.student.guardian_consent = result.guardian_consent
    ctx.outcome.events.append({"event": "student_linked"})
    return "code_ok"


async def _consent(ctx: EventContext, _data: dict[str, Any]) -> None:
    ctx.student.consent_at = ctx.now


async def _onboarded(ctx: EventContext, data: dict[str, Any]) -> None:
    ctx.student.onboarded = True
    ctx.student.anonymous = bool(data.get("anonymous"))
    if ctx.student.status == "unlinked" and not ctx.student.anonymous:
        ctx.student.status = "active"


async def _anonymous(ctx: EventContext, data: dict[str, Any]) -> None:
    group = data.get("age_group")
    ctx.student.age_group = group if group in ("under_age", "of_age") else None


async def _language(ctx: EventContext, data: dict[str, Any]) -> None:
    if data.get("language") in ("zh", "en"):
        ctx.student.language = data["language"]


async def _reminders(ctx: EventContext, data: dict[str, Any]) -> None:
    ctx.student.reminder_opt_in = bool(data.get("enabled"))
    weekday, minute = data.get("weekday"), data.get("minute")
    ctx.student.reminder_weekday = weekday if isinstance(weekday, int) else None
    ctx.student.reminder_minute = minute if isinstance(minute, int) else None


async def _result(ctx: EventContext, data: dict[str, Any]) -> None:
    answers = [a if isinstance(a, int) else None for a in data.get("answers", [])]
    score = data.get("score")
    ctx.session.add(
        CheckinResult(
            student_id=ctx.student.id,
            instrument=str(data.get("instrument", "unknown"))[:16],
            answers=answers,
            score=score if isinstance(score, int) else None,
            band=str(data.get("band", "unscored"))[:32],
            created_at=ctx.now,
        )
    )
    ctx.outcome.events.append(
        {
            "event": "checkin_completed",
            "instrument": data.get("instrument"),
            "score": data.get("score"),
            "band": data.get("band"),
        }
    )


async def _case(ctx: EventContext, data: dict[str, Any]) -> None:
    priority = data.get("priority")
    if priority not in PRIORITIES:
        # Never drop a request for help: an unknown priority is treated as urgent.
        log.error("case request with unknown priority %r for student %s", priority, ctx.student.id)
        priority = "urgent"
    reason = str(data.get("reason", "unspecified"))[:64]
    details = {
        k: v
        for k, v in data.items()
        if k in ("flow", "preferred_time", "preferred_channel", "bands")
    }
    ctx.session.add(
        CaseRequest(
            student_id=ctx.student.id,
            priority=priority,
            reason=reason,
            categories=[str(c) for c in data.get("categories", [])],
            assessment=ctx.assessment,
            details=details,
            created_at=ctx.now,
        )
    )
    ctx.outcome.created_case_request = True
    ctx.outcome.events.append({"event": "case_requested", "priority": priority, "reason": reason})
    log.info("case requested: student=%s priority=%s reason=%s", ctx.student.id, priority, reason)


async def _plan(ctx: EventContext, data: dict[str, Any]) -> None:
    plan = {str(k): str(v) for k, v in (data.get("plan") or {}).items()}
    ctx.plan = plan
    blob = ctx.cipher.encrypt(json.dumps(plan, ensure_ascii=False))
    row = await ctx.session.get(SafetyPlan, ctx.student.id)
    if row is None:
        ctx.session.add(SafetyPlan(student_id=ctx.student.id, plan_enc=blob, updated_at=ctx.now))
    else:
        row.plan_enc, row.updated_at = blob, ctx.now


async def _export(ctx: EventContext, _data: dict[str, Any]) -> None:
    data = await students.export(ctx.session, ctx.cipher, ctx.student)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    ctx.outcome.attachments.append(("heartguard-mydata.json", body))


async def _erase(ctx: EventContext, _data: dict[str, Any]) -> None:
    await students.erase(ctx.session, ctx.student, ctx.now)
    ctx.outcome.erased = True
    ctx.outcome.events.append({"event": "data_erased"})


HANDLERS: dict[str, Handler] = {
    "enrollment_code_submitted": _code,
    "consent_given": _consent,
    "onboarding_completed": _onboarded,
    "anonymous_chosen": _anonymous,
    "language_changed": _language,
    "reminder_preference_set": _reminders,
    "checkin_completed": _result,
    "screen_completed": _result,
    "case_requested": _case,
    "safety_plan_saved": _plan,
    "data_export_requested": _export,
    "data_deletion_confirmed": _erase,
}
# Events that only inform observers.
PASSIVE = frozenset({"flow_changed"})


async def apply_event(ctx: EventContext, event: Event) -> str | None:
    """Record one event; returns a system answer for the flow, if the event asked a question."""
    data = dict(event.data)
    if event.name == "flow_changed":
        ctx.outcome.events.append(
            {"event": "flow_changed", "flow": data.get("flow"), "state": data.get("state")}
        )
        return None
    handler = HANDLERS.get(event.name)
    if handler is None:
        log.warning("no handler for flow event %s", event.name)
        return None
    return await handler(ctx, data)
