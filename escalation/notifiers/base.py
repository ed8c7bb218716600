"""The one small interface every notifier implements, and what it is handed.

The engine builds an :class:`Alert` from a notification row and calls ``send``. A notifier
never raises for delivery problems: it answers with a :class:`SendResult` that says whether to
retry later (transient), give up on this channel (permanent), or disable the endpoint (for
example a webhook answering 410 Gone). Payloads carry ids and the minimum necessary data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

AlertKind = Literal["alert", "update", "referral", "test"]


@dataclass(frozen=True)
class Alert:
    """One message to one recipient about one case."""

    notification_id: int
    idempotency_key: str
    kind: AlertKind
    case_id: int
    case_number: str
    priority: Literal["routine", "urgent", "emergency"]
    status: str
    school: str
    class_name: str | None
    student_display: str
    reason: str
    explanation: str
    recipient_name: str
    recipient_role: str
    channel: str
    address: str
    created_at: datetime
    evidence_quote: str | None = None
    actions: tuple[str, ...] = ("ack", "contacted", "refer", "resolve")
    extra: Mapping[str, str] = field(default_factory=dict)
    # The student's /talk wishes, as codes: preferred_time, preferred_channel.
    wishes: Mapping[str, str] = field(default_factory=dict)
    # The case's page on the counselor console, when the installation has a public URL.
    link: str | None = None


@dataclass(frozen=True)
class SendResult:
    """How a delivery went."""

    ok: bool
    permanent: bool = False
    disable_endpoint: bool = False
    error: str = ""
    external_id: str | None = None

    @classmethod
    def delivered(cls, external_id: str | None = None) -> SendResult:
        """Delivered."""
        return cls(ok=True, external_id=external_id)

    @classmethod
    def retry(cls, error: str) -> SendResult:
        """A transient failure: try again later."""
        return cls(ok=False, error=error[:500])

    @classmethod
    def failed(cls, error: str, *, disable_endpoint: bool = False) -> SendResult:
        """A permanent failure on this channel: try the recipient's next channel."""
        return cls(ok=False, permanent=True, disable_endpoint=disable_endpoint, error=error[:500])


class Notifier(Protocol):
    """Delivers alerts over one channel ("telegram", "email", "webhook", "wecom", "dingtalk")."""

    channel: str

    async def send(self, alert: Alert) -> SendResult:
        """Deliver one alert; never raise for delivery problems."""
        ...
