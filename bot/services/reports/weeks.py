"""ISO weeks in a school's time zone: what "2026-W49" means as a span of instants. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UsageError

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Week:
    """One ISO week (Monday 00:00 to the next Monday 00:00) in one time zone."""

    year: int
    number: int
    zone: str

    @classmethod
    def parse(cls, text: str, zone: str) -> Week:
        """``2026-W49`` (or ``2026W49``) in ``zone``; a one-line error otherwise."""
        found = _WEEK.match(text.strip().upper())
        if found is None:
            raise UsageError(f"week {text!r}: expected an ISO week such as 2026-W49")
        year, number = int(found[1]), int(found[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise UsageError(f"week {text!r}: {year} has no week {number}") from None
        return cls(year, number, zone)

    @classmethod
    def containing(cls, at: datetime, zone: str) -> Week:
        """The week an instant falls in, locally."""
        year, number, _ = at.astimezone(ZoneInfo(zone)).isocalendar()
        return cls(year, number, zone)

    @property
    def label(self) -> str:
        """``2026-W49``."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        """Monday 00:00 local, in UTC."""
        local = datetime.combine(self.monday, time(0), tzinfo=ZoneInfo(self.zone))
        return local.astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 local, in UTC (exclusive)."""
        local = datetime.combine(self.monday + timedelta(days=7), time(0), ZoneInfo(self.zone))
        return local.astimezone(UTC)

    def previous(self) -> Week:
        """The week before."""
        year, number, _ = (self.monday - timedelta(days=7)).isocalendar()
        return Week(year, number, self.zone)

    def span(self) -> str:
        """``2026-11-30 – 2026-12-06`` (local dates)."""
        return f"{self.monday:%Y-%m-%d} – {self.monday + timedelta(days=6):%Y-%m-%d}"
