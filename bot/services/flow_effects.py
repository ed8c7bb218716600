"""Applying flow events inside the pipeline's transaction.

Each handler records what the flow decided (a consent, a score, a case request) in the same
transaction as the message, so a crash can never keep one without the other. A handler may
return a system answer (``code_ok`` …) that the pipeline feeds back to the flow. There is one
handler per event type, and :func:`check_handlers` (called when the runtime is built) refuses
to start when a type has none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config.settings import Settings
from bot.services import enrollment, students
from bot.services.one_time_codes import Redemption
from bot.services.relay import ask_for_person
from escalation.requests import request_case
from flows import EVENT_TYPES, FlowEvent
from flows.effects import (
    AnonymousChosen,
    CaseRequested,
    CheckinCompleted,
    ConsentGiven,
    DataDeletionConfirmed,
    DataExportRequested,
    EnrollmentCodeSubmitted,
    FlowChanged,
    LanguageChanged,
    OnboardingCompleted,
    ReminderPreferenceSet,
    SafetyPlanSaved,
    ScreenCompleted,
)
from storage.crypto import DataCipher
from storage.models import CheckinResult, RiskAssessmentRecord, SafetyPlan, Student

log = logging.getLogger(__name__)


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


Handler = Callable[[EventContext, Any], Awaitable[str | None]]


async def _code(ctx: EventContext, event: EnrollmentCodeSubmitted) -> str | None:
    result = await enrollment.redeem(ctx.session, event.code, now=ctx.now)
    if result.outcome is not Redemption.OK or result.student_id is None:
        return f"code_{result.outcome.value}"
    ctx.student = await students.link_to_roster(ctx.session, ctx.student, result.student_id)
    # The roster record wins over the consent the code carried when it was issued: a
    # guardian's consent recorded (or withdrawn) later with `heartguard students consent`
    # counts at once, so the student's guardian_consent is left as the roster says.
    ctx.outcome.events.append({"event": "student_linked"})
    return "code_ok"


async def _consent(ctx: EventContext, _event: ConsentGiven) -> None:
    ctx.student.consent_at = ctx.now


async def _onboarded(ctx: EventContext, event: OnboardingCompleted) -> None:
    ctx.student.onboarded = True
    ctx.student.anonymous = event.anonymous
    if ctx.student.status == "unlinked" and not ctx.student.anonymous:
        ctx.student.status = "active"


async def _anonymous(ctx: EventContext, event: AnonymousChosen) -> None:
    group = event.age_group
    ctx.student.age_group = group if group in ("under_age", "of_age") else None


async def _language(ctx: EventContext, event: LanguageChanged) -> None:
    if event.language in ("zh", "en"):
        ctx.student.language = event.language
        ctx.student.language_source = "chosen"


async def _reminders(ctx: EventContext, event: ReminderPreferenceSet) -> None:
    ctx.student.reminder_opt_in = event.enabled
    ctx.student.reminder_weekday = event.weekday
    ctx.student.reminder_minute = event.minute


async def _result(ctx: EventContext, event: CheckinCompleted | ScreenCompleted) -> None:
    ctx.session.add(
        CheckinResult(
            student_id=ctx.student.id,
            instrument=event.instrument[:16],
            answers=list(event.answers),
            score=event.score,
            band=event.band[:32],
            created_at=ctx.now,
        )
    )
    ctx.outcome.events.append(
        {
            "event": "checkin_completed",
            "instrument": event.instrument,
            "score": event.score,
            "band": event.band,
        }
    )


async def _case(ctx: EventContext, event: CaseRequested) -> None:
    request = request_case(
        ctx.session,
        student_id=ctx.student.id,
        priority=event.priority,
        reason=event.reason,
        now=ctx.now,
        categories=event.categories,
        assessment=ctx.assessment,
        details={**event.details, "flow": event.flow},
    )
    ctx.outcome.created_case_request = True
    ctx.outcome.events.append(
        {"event": "case_requested", "priority": request.priority, "reason": request.reason}
    )
    if event.details.get("preferred_channel") == "chat":
        # "Message me here": a counselor is asked to take over this chat.
        await ask_for_person(ctx.session, ctx.student.id, ctx.now)


async def _plan(ctx: EventContext, event: SafetyPlanSaved) -> None:
    plan = {str(k): str(v) for k, v in event.plan.items()}
    ctx.plan = plan
    blob = ctx.cipher.encrypt(json.dumps(plan, ensure_ascii=False))
    row = await ctx.session.get(SafetyPlan, ctx.student.id)
    if row is None:
        ctx.session.add(SafetyPlan(student_id=ctx.student.id, plan_enc=blob, updated_at=ctx.now))
    else:
        row.plan_enc, row.updated_at = blob, ctx.now


async def _export(ctx: EventContext, _event: DataExportRequested) -> None:
    data = await students.export(ctx.session, ctx.cipher, ctx.student)
    # printable() again over the whole dump: one odd character must never break /mydata.
    body = students.printable(json.dumps(data, ensure_ascii=False, indent=2)).encode("utf-8")
    ctx.outcome.attachments.append(("heartguard-mydata.json", body))


async def _erase(ctx: EventContext, _event: DataDeletionConfirmed) -> None:
    await students.erase(ctx.session, ctx.student, ctx.now)
    ctx.outcome.erased = True
    ctx.outcome.events.append({"event": "data_erased"})


async def _flow_changed(ctx: EventContext, event: FlowChanged) -> None:
    ctx.outcome.events.append({"event": "flow_changed", "flow": event.flow, "state": event.state})


HANDLERS: Mapping[type[FlowEvent], Handler] = {
    EnrollmentCodeSubmitted: _code,
    ConsentGiven: _consent,
    OnboardingCompleted: _onboarded,
    AnonymousChosen: _anonymous,
    LanguageChanged: _language,
    ReminderPreferenceSet: _reminders,
    CheckinCompleted: _result,
    ScreenCompleted: _result,
    CaseRequested: _case,
    SafetyPlanSaved: _plan,
    DataExportRequested: _export,
    DataDeletionConfirmed: _erase,
    FlowChanged: _flow_changed,
}


def check_handlers(handlers: Mapping[type[FlowEvent], Handler] = HANDLERS) -> None:
    """Refuse to start when a flow event type has no handler (a new event, forgotten here)."""
    missing = sorted(t.__name__ for t in EVENT_TYPES if t not in handlers)
    if missing:
        raise RuntimeError("flow events without a handler: " + ", ".join(missing))


async def apply_event(ctx: EventContext, event: FlowEvent) -> str | None:
    """Record one event; returns a system answer for the flow, if the event asked a question."""
    handler = HANDLERS.get(type(event))
    if handler is None:
        # check_handlers makes this unreachable in a started process; fail loudly if not.
        raise RuntimeError(f"no handler for flow event {type(event).__name__}")
    return await handler(ctx, event)
