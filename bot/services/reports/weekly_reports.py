"""The weekly reports as a service: scope checks, the reading, the pure core, the audit.

The CLI, the Monday delivery and the console all call :meth:`WeeklyReports.build`; the
renderers (``report_html``, ``report_csv``, ``pdf``) take the :class:`WeeklyReport` it
returns.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.services.admin import school_by_ref
from bot.services.reports import weekly_facts
from bot.services.reports.access import refuse, viewer_for
from bot.services.reports.overdue import Rules
from bot.services.reports.weekly import SchoolRef, Scope, WeeklyReport, build
from bot.services.reports.weeks import Week
from escalation.actions import Actor
from storage.audit import audit
from storage.db import read_sessions
from storage.models import School, Student

log = logging.getLogger(__name__)


class WeeklyReports:
    """Builds a school's or the district's report for one ISO week."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.readers = read_sessions(sessions)
        self.settings = settings

    def rules(self) -> Rules:
        """Overdue rules and the consent age, from the settings."""
        return Rules(
            follow_up_due=self.settings.reports.follow_up_due,
            referral_due=self.settings.reports.referral_due,
            consent_age=self.settings.schools.guardian_consent_age,
        )

    async def build(
        self, *, school: str | None, week: str, actor: Actor, now: datetime
    ) -> WeeklyReport:
        """One report (``school`` None: the district's), checked against the actor's scope.

        Raises:
            NotAllowedError: a school outside a counselor's schools, or the district report
                for anyone without the district role (the refusal is audited).
            NotFoundError / UsageError: an unknown school or a malformed week.
        """
        async with self.sessions.begin() as session:
            viewer = await viewer_for(session, actor)
            target = await school_by_ref(session, school) if school is not None else None
            subject = f"school:{target.id}" if target is not None else "district"
            allowed = viewer.covers(target.id) if target is not None else viewer.district
            if not allowed:
                error = refuse(
                    session,
                    viewer,
                    now=now,
                    attempted="weekly_report",
                    subject_type="report",
                    subject_id=subject,
                    why=(
                        f"{target.code} is outside your schools"
                        if target is not None
                        else "the district report needs the district role"
                    ),
                )
            else:
                error = None
            zone = target.timezone if target is not None else self.settings.schools.default_timezone
            this_week = Week.parse(week, zone)
            if error is None:
                audit(
                    session,
                    now=now,
                    actor=actor.label,
                    action="report_viewed",
                    subject_type="report",
                    subject_id=subject,
                    week=this_week.label,
                )
        if error is not None:
            raise error
        return await self._build(target, this_week, now)

    async def _build(self, target: School | None, week: Week, now: datetime) -> WeeklyReport:
        last = week.previous()
        async with self.readers() as session:
            facts = await weekly_facts.gather(
                session,
                school_id=target.id if target is not None else None,
                weeks=(week, last),
                rules=self.rules(),
                now=now,
            )
            scope = await _scope(session, target)
        return build(
            scope,
            {"this": facts[0], "last": facts[1]},
            week=week.label,
            previous=last.label,
            span=week.span(),
            zone=week.zone,
            k=self.settings.reports.min_cell,
            generated_at=now,
        )


async def _scope(session: AsyncSession, target: School | None) -> Scope:
    grades = select(Student.grade).where(Student.status != "deleted").distinct()
    if target is not None:
        grades = grades.where(Student.school_id == target.id)
    found = {grade for grade in (await session.scalars(grades)) if grade is not None}
    ordered: tuple[int | None, ...] = tuple(sorted(found))
    if target is not None:
        return Scope(SchoolRef(target.id, target.code, target.name), grades=ordered)
    schools = (await session.execute(select(School.id, School.code, School.name))).all()
    return Scope(
        None,
        schools=tuple(SchoolRef(i, c, n) for i, c, n in sorted(schools, key=lambda r: r[1])),
        grades=ordered,
    )
