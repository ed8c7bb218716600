"""What a weekly report counts, read from the database for two weeks at once.

Each query reads one time-indexed range (both weeks together) and returns student ids, which
the scope's roster turns into units (school, grade); the pure core in ``weekly`` does the
counting and the suppression. A school's report joins the students table to keep to its own
pupils; the district's reads everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.reports.overdue import Rules, overdue_cases
from bot.services.reports.weekly import Unit, WeekFacts
from bot.services.reports.weeks import Week
from flows import StudentProfile
from storage.models import (
    AlertMark,
    AuditEvent,
    Case,
    CaseEvent,
    CheckinResult,
    CheckinStart,
    Notification,
    ReminderDelivery,
    RiskAssessmentRecord,
    Student,
)

PHQ_BAND = {
    "minimal": "phq.minimal",
    "mild": "phq.mild",
    "moderate": "phq.moderate",
    "moderately_severe": "phq.moderately_severe",
    "severe": "phq.severe",
}
GAD_BAND = {
    "minimal": "gad.minimal",
    "mild": "gad.mild",
    "moderate": "gad.moderate",
    "severe": "gad.severe",
}
FLAG_LEVELS = ("moderate", "high", "imminent")


@dataclass
class _Week:
    """A week being gathered: figure -> unit per counted key (students or cases)."""

    week: Week
    units: dict[str, dict[Any, Unit]]
    ack: list[float]
    start: datetime
    end: datetime
    counted: dict[str, list[Unit]] = field(default_factory=dict)

    def add(self, figure: str, key: Any, unit: Unit) -> None:
        self.units.setdefault(figure, {})[key] = unit

    def extend(self, figure: str, unit: Unit, count: int) -> None:
        """``count`` distinct things the database counted already."""
        self.counted.setdefault(figure, []).extend([unit] * count)

    def facts(self) -> WeekFacts:
        figures = set(self.units) | set(self.counted)
        return WeekFacts(
            {f: [*self.units.get(f, {}).values(), *self.counted.get(f, ())] for f in figures},
            self.ack,
        )


class _Gather:
    """One report's reading: the scope, the roster and the two weeks."""

    def __init__(
        self,
        session: AsyncSession,
        school_id: int | None,
        weeks: Sequence[Week],
        now: datetime,
    ) -> None:
        self.session = session
        self.school_id = school_id
        # Bounds computed once: every row read is placed in its week.
        self.weeks = [_Week(week, {}, [], week.start, week.end) for week in weeks]
        self.now = now
        self.start = min(w.start for w in self.weeks)
        self.end = max(w.end for w in self.weeks)

    def scoped(self, query: Any, student_id: Any) -> Any:
        """Join the student (for school and grade); a school's report keeps to its own."""
        query = query.join(Student, Student.id == student_id)
        if self.school_id is None:
            return query
        return query.where(Student.school_id == self.school_id)

    def index(self, column: Any) -> Any:
        """Which week a row falls in, worked out by the database (0: this week, 1: last).

        Reading the timestamps themselves would turn tens of thousands of them into Python
        datetimes, which cost more than the queries; the range filter keeps rows in the two
        weeks, so one comparison places each.
        """
        return case((column >= self.weeks[0].start, 0), else_=1)

    def week_of(self, at: datetime) -> _Week | None:
        for w in self.weeks:
            if w.start <= at < w.end:
                return w
        return None

    async def rows(self, query: Any) -> Sequence[Any]:
        # Core rows straight from the connection: the ORM's row machinery cost more than the
        # queries themselves on a district's week.
        connection = await self.session.connection()
        rows: Sequence[Any] = (await connection.execute(query)).all()
        return rows


async def gather(
    session: AsyncSession,
    *,
    school_id: int | None,
    weeks: Sequence[Week],
    rules: Rules,
    now: datetime,
) -> list[WeekFacts]:
    """The facts of each week, in the order given (this week, then last week)."""
    g = _Gather(session, school_id, weeks, now)
    await _checkins(g)
    await _results(g)
    await _flags(g)
    await _cases(g)
    await _timeouts(g)
    await _overdue(g, rules)
    await _consent(g, rules)
    await _failures(g)
    return [w.facts() for w in g.weeks]


async def _checkins(g: _Gather) -> None:
    """Invited, started and completed: distinct students, counted by the database."""
    sources = (
        (
            "invited",
            ReminderDelivery.student_id,
            ReminderDelivery.sent_at,
            (ReminderDelivery.kind == "weekly", ReminderDelivery.status == "sent"),
        ),
        ("started", CheckinStart.student_id, CheckinStart.created_at, ()),
        # Every finished check-in records its opening mood question.
        ("completed", CheckinResult.student_id, CheckinResult.created_at,
         (CheckinResult.instrument == "mood",)),
    )  # fmt: skip
    for figure, student_id, at, where in sources:
        week = g.index(at)
        query = g.scoped(
            select(week, Student.school_id, Student.grade, func.count(student_id.distinct()))
            .where(at >= g.start, at < g.end, *where)
            .group_by(week, Student.school_id, Student.grade),
            student_id,
        )
        for index, school, grade, count in await g.rows(query):
            g.weeks[index].extend(figure, Unit(school, grade), count)


async def _results(g: _Gather) -> None:
    query = g.scoped(
        select(
            CheckinResult.student_id,
            CheckinResult.instrument,
            CheckinResult.band,
            g.index(CheckinResult.created_at),
            Student.school_id,
            Student.grade,
        )
        .where(
            CheckinResult.created_at >= g.start,
            CheckinResult.created_at < g.end,
            CheckinResult.instrument.in_(("phq2", "phq9", "gad2", "gad7", "asq")),
        )
        .order_by(CheckinResult.created_at, CheckinResult.id),
        CheckinResult.student_id,
    )
    # The latest result of each instrument per student and week decides the band.
    latest: dict[tuple[int, int, str], str] = {}
    units: dict[int, Unit] = {}
    for sid, instrument, band, index, school, grade in await g.rows(query):
        units[sid] = Unit(school, grade)
        if instrument == "asq":
            if band != "negative":
                previous = latest.get((index, sid, "asq"))
                latest[(index, sid, "asq")] = (
                    "asq.acute" if "acute_positive" in (band, previous) else "asq.non_acute"
                )
        else:
            latest[(index, sid, instrument)] = band
    by_student: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    for (index, sid, instrument), band in latest.items():
        by_student[(index, sid)][instrument] = band
    for (index, sid), bands in by_student.items():
        week, unit = g.weeks[index], units[sid]
        for full, screen, names, prefix in (
            ("phq9", "phq2", PHQ_BAND, "phq"),
            ("gad7", "gad2", GAD_BAND, "gad"),
        ):
            if full in bands:
                week.add(names.get(bands[full], f"{prefix}.unscored"), sid, unit)
            elif screen in bands:
                negative = bands[screen] == "negative"
                week.add(
                    f"{prefix}.negative_screen" if negative else f"{prefix}.unscored", sid, unit
                )
        if "asq" in bands:
            week.add(bands["asq"], sid, unit)


async def _flags(g: _Gather) -> None:
    query = g.scoped(
        select(
            RiskAssessmentRecord.student_id,
            RiskAssessmentRecord.level,
            g.index(RiskAssessmentRecord.created_at),
            Student.school_id,
            Student.grade,
        ).where(
            RiskAssessmentRecord.created_at >= g.start,
            RiskAssessmentRecord.created_at < g.end,
            RiskAssessmentRecord.level.in_(FLAG_LEVELS),
        ),
        RiskAssessmentRecord.student_id,
    )
    highest: dict[tuple[int, int], int] = {}
    units: dict[int, Unit] = {}
    for sid, level, index, school, grade in await g.rows(query):
        key = (index, sid)
        units[sid] = Unit(school, grade)
        highest[key] = max(highest.get(key, 0), FLAG_LEVELS.index(level))
    for (index, sid), level in highest.items():
        g.weeks[index].add(f"flags.{FLAG_LEVELS[level]}", sid, units[sid])


def _case_query(g: _Gather) -> Any:
    query = select(
        Case.id, Case.student_id, Case.school_id, Case.priority, Case.reason, Student.grade
    ).join(Student, Student.id == Case.student_id)
    if g.school_id is not None:
        query = query.where(Case.school_id == g.school_id)
    return query


def _case_unit(school_id: int | None, grade: int | None) -> Unit:
    return Unit(school_id, grade)


async def _cases(g: _Gather) -> None:
    query = _case_query(g).add_columns(Case.created_at, AlertMark.mark)
    query = query.outerjoin(AlertMark, AlertMark.case_id == Case.id).where(
        Case.created_at >= g.start, Case.created_at < g.end
    )
    opened: dict[int, tuple[_Week, datetime]] = {}
    for cid, _sid, school, priority, reason, grade, at, mark in await g.rows(query):
        week = g.week_of(at)
        if week is None:
            continue
        unit = _case_unit(school, grade)
        week.add(f"cases.{priority}", cid, unit)
        if reason.startswith("risk_"):
            figure = {"confirmed": "marks.confirmed", "false_alarm": "marks.false_alarm"}
            week.add(figure.get(mark or "", "marks.unmarked"), cid, unit)
        opened[cid] = (week, at)
        week.add("ack.waiting", cid, unit)
    if not opened:
        return
    acks = await g.rows(
        select(CaseEvent.case_id, func.min(CaseEvent.at))
        .where(CaseEvent.action == "ack", CaseEvent.case_id.in_(tuple(opened)))
        .group_by(CaseEvent.case_id)
    )
    for cid, first in acks:
        week, at = opened[cid]
        unit = week.units["ack.waiting"].pop(cid)
        week.add("ack.done", cid, unit)
        week.ack.append((first - at).total_seconds() / 60)


async def _timeouts(g: _Gather) -> None:
    """Cases that went on to a later step or round because nobody acknowledged in time."""
    query = (
        _case_query(g)
        .add_columns(CaseEvent.action, CaseEvent.details, CaseEvent.at)
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(
            CaseEvent.action.in_(("notified", "ack_expired")),
            CaseEvent.at >= g.start,
            CaseEvent.at < g.end,
        )
    )
    for cid, _sid, school, _priority, _reason, grade, action, details, at in await g.rows(query):
        week = g.week_of(at)
        later = action == "ack_expired" or bool(
            isinstance(details, dict) and (details.get("step") or details.get("round"))
        )
        if week is not None and later:
            week.add("timeouts", cid, _case_unit(school, grade))


async def _overdue(g: _Gather, rules: Rules) -> None:
    for week in g.weeks:
        as_of = min(week.end, g.now)
        for due in await overdue_cases(g.session, g.school_id, as_of, rules):
            figure = "overdue.referrals" if due.kind == "referral" else "overdue.follow_ups"
            week.add(figure, due.case_id, _case_unit(due.school_id, due.grade))


async def _consent(g: _Gather, rules: Rules) -> None:
    """Students under the consent age without a guardian's consent, at each week's end."""
    as_of = [min(w.end, g.now) for w in g.weeks]
    # How many of the weeks (this, last) the student was on the roster by: read as a number,
    # not as 10,000 timestamps.
    enrolled = case((Student.created_at < as_of[1], 2), (Student.created_at < as_of[0], 1), else_=0)
    query = select(
        Student.id,
        Student.school_id,
        Student.grade,
        Student.birth_year,
        Student.age_group,
        Student.guardian_consent,
        enrolled,
    ).where(Student.status != "deleted", Student.anonymous.is_(False))
    if g.school_id is not None:
        query = query.where(Student.school_id == g.school_id)
    students = await g.rows(query)
    changes = await g.rows(
        select(AuditEvent.subject_id, AuditEvent.action, AuditEvent.at)
        .where(
            AuditEvent.action.in_(("guardian_consent_recorded", "guardian_consent_withdrawn")),
            AuditEvent.subject_type == "student",
            AuditEvent.at >= g.start,
        )
        .order_by(AuditEvent.at)
    )
    for index, week in enumerate(g.weeks):
        # A consent recorded after the week's end was still missing then, and the reverse.
        then: dict[int, bool] = {}
        for subject, action, at in changes:
            if at >= as_of[index] and subject.isdigit() and int(subject) not in then:
                then[int(subject)] = action == "guardian_consent_withdrawn"
        for sid, school, grade, birth_year, group, consent, weeks_on_roster in students:
            if weeks_on_roster <= index or then.get(sid, consent):
                continue
            age = None if birth_year is None else max(0, as_of[index].year - birth_year - 1)
            profile = StudentProfile(grade=grade, age=age, age_group=_group(group))
            if profile.under_age(rules.consent_age):
                week.add("consent.missing", sid, Unit(school, grade))


def _group(value: str | None) -> Any:
    return value if value in ("under_age", "of_age") else None


async def _failures(g: _Gather) -> None:
    reminders = g.scoped(
        select(
            ReminderDelivery.student_id,
            g.index(ReminderDelivery.claimed_at),
            Student.school_id,
            Student.grade,
        ).where(
            ReminderDelivery.status.in_(("failed", "unreachable")),
            ReminderDelivery.claimed_at >= g.start,
            ReminderDelivery.claimed_at < g.end,
        ),
        ReminderDelivery.student_id,
    )
    for sid, index, school, grade in await g.rows(reminders):
        g.weeks[index].add("failures.reminders", sid, Unit(school, grade))
    alerts = (
        _case_query(g)
        .add_columns(Notification.id, Notification.created_at)
        .join(Notification, Notification.case_id == Case.id)
        .where(
            Notification.status.in_(("failed", "dead")),
            Notification.created_at >= g.start,
            Notification.created_at < g.end,
        )
    )
    for _cid, _sid, school, _priority, _reason, grade, nid, at in await g.rows(alerts):
        week = g.week_of(at)
        if week is not None:
            week.add("failures.alerts", nid, _case_unit(school, grade))


def grades_of(units: Iterable[Unit]) -> tuple[int | None, ...]:
    """The grades a roster holds, in order (unknown last)."""
    found = {unit.grade for unit in units}
    return tuple(sorted(found, key=lambda grade: (grade is None, grade or 0)))
