"""Human-friendly durations ("10m", "1h30m", "2d") for configuration and the CLI."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.translation import N_

_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
EXPECTED = N_('expected a positive duration like "10m"')


def parse_duration(value: object) -> timedelta:
    """Parse "90s", "10m", "1h30m" or "2d" into a positive timedelta.

    Raises:
        ValueError: with a message naming the expected form.
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(EXPECTED)
        return value
    if not isinstance(value, str):
        raise ValueError(EXPECTED)
    text = value.strip().lower()
    pos = 0
    seconds = 0
    for match in _PART.finditer(text):
        if match.start() != pos and text[pos : match.start()].strip():
            raise ValueError(EXPECTED)
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip() or seconds <= 0:
        raise ValueError(EXPECTED)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a timedelta in the same compact form parse_duration reads."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
