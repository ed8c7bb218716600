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


def local_text(at: datetime, zone: str, *, seconds: bool = False, named: bool = True) -> str:
    """The one way a person reads a moment: local time with its offset and zone.

    ``2026-10-01 08:30 +08:00 (Asia/Shanghai)``; without the name (``named=False``) where a
    heading already gives it. A naive value is taken as UTC (SQLite returns stored UTC moments
    without their zone).
    """
    from zoneinfo import ZoneInfo

    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(zone))
    offset = local.strftime("%z")
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    text = f"{shown} {offset[:3]}:{offset[3:]}"
    return f"{text} ({zone})" if named else text
