"""Wiring the green channel from settings: policies, notifiers, engine, auditor, service."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from bot.app import AppContext
from bot.config.settings import WEEKDAYS, Settings
from escalation.actions import CaseService
from escalation.auditor import Auditor
from escalation.engine import EscalationEngine
from escalation.notifiers.base import Alert, Notifier, SendResult
from escalation.policy import Chain, Step
from escalation.roster import ShiftSpec


def configured_shifts(settings: Settings) -> tuple[ShiftSpec, ...]:
    """Duty shifts from the config file, beside those `heartguard duty` keeps in the database."""
    return tuple(
        ShiftSpec(
            counselor_id=shift.counselor,
            tier=shift.tier,
            school_code=shift.school or None,
            weekdays=tuple(WEEKDAYS.index(day) for day in shift.days),
            start_minute=shift.start.hour * 60 + shift.start.minute,
            end_minute=shift.end.hour * 60 + shift.end.minute or 1440,
        )
        for shift in settings.escalation.shifts
    )


def policies(settings: Settings) -> dict[str, Chain]:
    """The escalation chains, per priority, from the validated settings."""
    return {
        priority: Chain(
            priority,
            tuple(Step(tuple(step.tiers), step.ack_timeout) for step in policy.steps),
            policy.repeat,
        )
        for priority, policy in settings.escalation.policies.items()
    }


class ConsoleNotifier:
    """Prints alerts to a terminal: the demo's counselor, and a fallback for local use."""

    channel = "console"

    def __init__(self, sink: TextIO | None = None) -> None:
        self.sink = sink or sys.stderr

    async def send(self, alert: Alert) -> SendResult:
        """Write one line per alert (ids and the explanation; never the student's words)."""
        self.sink.write(
            f"\n[绿色通道 green channel] {alert.kind} → {alert.recipient_name}: "
            f"case {alert.case_number} ({alert.priority}, {alert.status}), "
            f"{alert.school} {alert.class_name or ''} {alert.student_display}: "
            f"{alert.explanation or alert.reason}\n"
        )
        self.sink.flush()
        return SendResult.delivered()


def notifiers(
    settings: Settings, extra: Mapping[str, Notifier] | None = None
) -> dict[str, Notifier]:
    """Every notifier the settings make available, plus any the caller adds (Telegram)."""
    out: dict[str, Notifier] = {"console": ConsoleNotifier()}
    email = settings.escalation.email
    if email.host:
        from escalation.notifiers.email import EmailNotifier

        out["email"] = EmailNotifier(
            email.host,
            email.port,
            security=email.security,
            username=email.username or None,
            password=email.password.get_secret_value() if email.password else None,
            sender=email.sender,
            timeout=email.timeout.total_seconds(),
        )
    timeout = settings.escalation.webhook_timeout.total_seconds()
    if settings.escalation.webhook_secret is not None:
        from escalation.notifiers.webhook import WebhookNotifier

        out["webhook"] = WebhookNotifier(
            settings.escalation.webhook_secret.get_secret_value(), timeout=timeout
        )
    from escalation.notifiers.wecom import WeComNotifier

    out["wecom"] = WeComNotifier(timeout=timeout)
    if settings.escalation.dingtalk_secret is not None:
        from escalation.notifiers.dingtalk import DingTalkNotifier

        out["dingtalk"] = DingTalkNotifier(
            settings.escalation.dingtalk_secret.get_secret_value(), timeout=timeout
        )
    out.update(extra or {})
    return out


@dataclass(frozen=True)
class GreenChannel:
    """The engine, the auditor and the case service, built together."""

    engine: EscalationEngine
    auditor: Auditor
    service: CaseService

    async def aclose(self) -> None:
        """Close the notifiers' pooled connections."""
        for notifier in self.engine.dispatcher.notifiers.values():
            close = getattr(notifier, "aclose", None)
            if close is not None:
                await close()


def build_green_channel(
    app: AppContext, extra_notifiers: Mapping[str, Notifier] | None = None
) -> GreenChannel:
    """The green channel for a process."""
    settings = app.settings
    chains = policies(settings)
    engine = EscalationEngine(
        app.sessions,
        chains,
        notifiers(settings, extra_notifiers),
        cipher=app.cipher,
        district_zone=settings.schools.default_timezone,
        quote_chars=settings.privacy.alert_quote_chars,
        lease=settings.escalation.notification_lease,
        shifts=configured_shifts(settings),
    )
    auditor = Auditor(
        app.sessions,
        grace=max(settings.escalation.tick_interval * 4, settings.escalation.audit_interval),
        heartbeat_url=settings.escalation.heartbeat_url,
        shifts=configured_shifts(settings),
        district_zone=settings.schools.default_timezone,
    )
    service = CaseService(
        app.sessions, chains, emergency_ack_expiry=settings.escalation.emergency_ack_expiry
    )
    return GreenChannel(engine, auditor, service)
