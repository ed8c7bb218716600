"""WeChat's customer-service window: may the account message a student right now?

A student's message opens a 48-hour window in which a service account may send
customer-service messages, at most five of them. Outside it, only a subscription message the
student agreed to, or the student's next message, reaches them. Pure: the caller gives ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)
CUSTOMER_SERVICE_LIMIT = 5

WindowReason = Literal["open", "never_wrote", "expired", "used_up"]


@dataclass(frozen=True)
class ServiceWindow:
    """Whether a customer-service message may go now, how many more may, and until when."""

    may_send: bool
    remaining: int
    closes_at: datetime | None
    reason: WindowReason


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def service_window(last_inbound: datetime | None, sent_since: int, now: datetime) -> ServiceWindow:
    """The window opened by the student's last message, given how many were sent since."""
    _aware(now, "now")
    if sent_since < 0:
        raise ValueError("sent_since cannot be negative")
    if last_inbound is None:
        return ServiceWindow(False, 0, None, "never_wrote")
    closes_at = _aware(last_inbound, "last_inbound") + CUSTOMER_SERVICE_WINDOW
    if now >= closes_at:
        return ServiceWindow(False, 0, closes_at, "expired")
    remaining = max(CUSTOMER_SERVICE_LIMIT - sent_since, 0)
    if not remaining:
        return ServiceWindow(False, 0, closes_at, "used_up")
    return ServiceWindow(True, remaining, closes_at, "open")
