"""The duty coverage report: for each school and the district, when nobody can be reached.

``heartguard duty check`` prints it, ``--json`` gives it to monitoring, and ``run``, ``worker``
and ``config check`` warn with one line per problem, so an administrator hears about a gap
before a student in crisis falls into it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from escalation.coverage import Gap, gaps, snapshot
from escalation.roster import ShiftSpec

# Where a contact's channel comes from, for the administrator who must configure it.
HOW_TO_CONFIGURE = {
    "telegram": "set HEARTGUARD_TELEGRAM_TOKEN",
    "email": "set escalation.email.host",
    "webhook": "set HEARTGUARD_WEBHOOK_SECRET",
    "dingtalk": "set HEARTGUARD_DINGTALK_SECRET",
    "phone": "HeartGuard cannot send to a phone number; add another contact",
}


@dataclass
class PlaceCoverage:
    """One school (or the district) and its gaps."""

    code: str
    name: str
    zone: str
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class CoverageReport:
    """Gaps per place, and contacts nobody can send to."""

    days: int
    channels: tuple[str, ...]
    places: list[PlaceCoverage] = field(default_factory=list)
    unusable: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """One line per problem, for warnings."""
        lines = []
        for place in self.places:
            if place.gaps:
                first = place.gaps[0]
                lines.append(
                    f"coverage: {place.name} ({place.code}): nobody reachable for "
                    f"{len(place.gaps)} span(s) in the next {self.days} days, the first "
                    f"{_when(first.start, place.zone)}–{_when(first.end, place.zone)} "
                    "(see `heartguard duty check`)"
                )
        for ident, name, channel in self.unusable:
            how = HOW_TO_CONFIGURE.get(channel, f"no {channel} channel is configured")
            lines.append(f"coverage: counselor #{ident} {name}: {channel} contact unusable ({how})")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The report for monitoring (times in ISO 8601 with their offset)."""
        return {
            "days": self.days,
            "channels": list(self.channels),
            "places": [
                {
                    "code": p.code,
                    "name": p.name,
                    "timezone": p.zone,
                    "gaps": [
                        {
                            "start": g.start.astimezone(ZoneInfo(p.zone)).isoformat(),
                            "end": g.end.astimezone(ZoneInfo(p.zone)).isoformat(),
                        }
                        for g in p.gaps
                    ],
                }
                for p in self.places
            ],
            "unusable_contacts": [
                {"counselor": i, "name": n, "channel": c} for i, n, c in self.unusable
            ],
        }


def _when(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %m-%d %H:%M %Z")


async def coverage_report(
    session: AsyncSession,
    *,
    channels: Collection[str],
    configured: Sequence[ShiftSpec],
    district_zone: str,
    now: datetime,
    days: int = 7,
) -> CoverageReport:
    """Every school's school-tier gaps and the district's, over the next ``days``."""
    snap = await snapshot(session, channels=channels, configured=configured, since=now)
    report = CoverageReport(days, tuple(sorted(channels)), unusable=snap.unusable)
    for school_id, (code, name, zone) in sorted(snap.schools.items(), key=lambda i: i[1][0]):
        report.places.append(
            PlaceCoverage(
                code,
                name,
                zone,
                gaps(snap, tier="school", school_id=school_id, start=now, days=days, zone=zone),
            )
        )
    report.places.append(
        PlaceCoverage(
            "district",
            "区危机干预 district crisis team",
            district_zone,
            gaps(snap, tier="district", school_id=None, start=now, days=days, zone=district_zone),
        )
    )
    return report
