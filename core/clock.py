"""Time as HeartGuard reads it: timezone-aware, and injected wherever it matters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# The pure packages never read the clock; processes pass one of these in.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)


# Weekday names as the config file, the CLI and the duty roster spell them (Monday is 0).
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
