"""The watch list as a service: one school's, a counselor's schools', or the district's.

A school counselor sees their own schools' students (by name: they are their counselor); the
district role sees every school. A watch list with names leaving the service as a file or
JSON is a named export and needs the district role. Every look is audited with the count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.services.admin import school_by_ref
from bot.services.reports.access import Viewer, refuse, viewer_for
from bot.services.reports.overdue import Rules, overdue_cases
from bot.services.reports.watch import History, Reason, WatchRules, reasons
from escalation.actions import Actor
from storage.audit import audit
from storage.db import read_sessions
from storage.models import CheckinResult, ReminderDelivery, School, SchoolClass, Student

# How far back a "previous check-in" is looked for beyond the rise window.
LOOKBACK = timedelta(days=120)


@dataclass(frozen=True)
class WatchEntry:
    """One student on the list, with every reason."""

    student_id: int
    name: str
    number: str | None
    school: str | None
    class_name: str | None
    grade: int | None
    reasons: tuple[Reason, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601 in UTC)."""
        data = asdict(self)
        data["reasons"] = [
            {"kind": r.kind, "at": r.at.isoformat() if r.at else None, **r.detail}
            for r in self.reasons
        ]
        return data


class WatchList:
    """Builds the watch list for a viewer."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.readers = read_sessions(sessions)
        self.settings = settings

    def rules(self) -> WatchRules:
        """The thresholds, from the settings."""
        r = self.settings.reports
        return WatchRules(
            rise=r.watch_rise,
            rise_window=r.watch_rise_window,
            recent=r.watch_recent,
            missed=r.watch_missed,
            asq_window=r.asq_window,
            grace=self.settings.reminders.follow_up_after,
        )

    async def build(
        self, *, school: str | None, actor: Actor, now: datetime, export: bool = False
    ) -> list[WatchEntry]:
        """The list for ``school`` (code or name), or every school the viewer covers.

        Raises:
            NotAllowedError: a school outside the viewer's scope, or an export without the
                district role (audited).
        """
        async with self.sessions.begin() as session:
            viewer = await viewer_for(session, actor)
            target = await school_by_ref(session, school) if school is not None else None
            why = ""
            if target is not None and not viewer.covers(target.id):
                why = f"{target.code} is outside your schools"
            elif export and not viewer.district:
                why = "exporting a watch list with names needs the district role"
            subject = f"school:{target.id}" if target is not None else "scope"
            if why:
                error = refuse(
                    session,
                    viewer,
                    now=now,
                    attempted="watch_list_export" if export else "watch_list",
                    subject_type="watch_list",
                    subject_id=subject,
                    why=why,
                )
            else:
                error = None
        if error is not None:
            raise error
        schools = _schools(viewer, target)
        async with self.readers() as session:
            entries = await self._entries(session, schools, now)
        async with self.sessions.begin() as session:
            audit(
                session,
                now=now,
                actor=actor.label,
                action="watch_list_exported" if export else "watch_list_viewed",
                subject_type="watch_list",
                subject_id=subject,
                students=len(entries),
            )
        return entries

    async def _entries(
        self, session: AsyncSession, schools: frozenset[int] | None, now: datetime
    ) -> list[WatchEntry]:
        rules = self.rules()
        histories: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        since = now - rules.recent - max(rules.rise_window, LOOKBACK)
        scored = select(
            CheckinResult.student_id, CheckinResult.instrument, CheckinResult.created_at,
            CheckinResult.score,
        ).where(
            CheckinResult.created_at >= since,
            CheckinResult.created_at <= now,
            CheckinResult.instrument.in_(("phq9", "gad7")),
            CheckinResult.score.is_not(None),
        )  # fmt: skip
        for sid, instrument, at, score in (await session.execute(_within(scored, schools))).all():
            histories[sid][instrument].append((at, score))
        positives = select(CheckinResult.student_id, CheckinResult.created_at).where(
            CheckinResult.instrument == "asq",
            CheckinResult.band != "negative",
            CheckinResult.created_at >= now - rules.asq_window,
        )
        asq_students = set()
        for sid, at in (await session.execute(_within(positives, schools))).all():
            histories[sid]["asq"].append(at)
            asq_students.add(sid)
        if asq_students:
            # Only the students who screened positive: their reminders and check-ins since.
            sent = select(ReminderDelivery.student_id, ReminderDelivery.sent_at).where(
                ReminderDelivery.student_id.in_(asq_students),
                ReminderDelivery.kind == "weekly",
                ReminderDelivery.status == "sent",
                ReminderDelivery.sent_at >= now - rules.asq_window,
            )
            for sid, at in (await session.execute(sent)).all():
                histories[sid]["reminders"].append(at)
            done = select(CheckinResult.student_id, CheckinResult.created_at).where(
                CheckinResult.student_id.in_(asq_students),
                CheckinResult.instrument == "mood",
                CheckinResult.created_at >= now - rules.asq_window,
            )
            for sid, at in (await session.execute(done)).all():
                histories[sid]["completed"].append(at)
        overdue_rules = Rules(
            self.settings.reports.follow_up_due, self.settings.reports.referral_due, 0
        )
        for due in await overdue_cases(session, None, now, overdue_rules):
            if schools is None or due.school_id in schools:
                histories[due.student_id]["overdue"].append((due.case_id, due.kind))
        found = {}
        for sid, data in histories.items():
            why = reasons(
                History(
                    phq9=data["phq9"],
                    gad7=data["gad7"],
                    asq_positive=data["asq"],
                    reminders=data["reminders"],
                    completed=data["completed"],
                    overdue=data["overdue"],
                ),
                rules,
                now,
            )
            if why:
                found[sid] = why
        return await _named(session, found)


def _schools(viewer: Viewer, target: School | None) -> frozenset[int] | None:
    """The schools to list (None: every school, anonymous students included)."""
    if target is not None:
        return frozenset({target.id})
    return None if viewer.district else viewer.schools


def _within(query: Any, schools: frozenset[int] | None) -> Any:
    if schools is None:
        return query
    return query.join(Student, Student.id == CheckinResult.student_id).where(
        Student.school_id.in_(schools)
    )


async def _named(session: AsyncSession, found: dict[int, list[Reason]]) -> list[WatchEntry]:
    if not found:
        return []
    rows = (
        await session.execute(
            select(
                Student.id,
                Student.display_name,
                Student.student_number,
                Student.grade,
                School.code,
                SchoolClass.name,
            )
            .outerjoin(School, School.id == Student.school_id)
            .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
            .where(Student.id.in_(tuple(found)), Student.status != "deleted")
        )
    ).all()
    entries = [
        WatchEntry(sid, name, number, code, klass, grade, tuple(found[sid]))
        for sid, name, number, grade, code, klass in rows
    ]
    return sorted(entries, key=lambda e: (e.school or "", e.class_name or "", e.number or ""))


def kinds(entries: Iterable[WatchEntry]) -> dict[str, int]:
    """How many students each kind of reason put on the list."""
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        for kind in {r.kind for r in entry.reasons}:
            counts[kind] += 1
    return dict(counts)
