"""Retention that happens: what /delete promised to erase later is erased when it falls due.

/delete erases a student's messages, check-ins, safety plan, conversation and chat link at
once. Safety records (risk assessments at moderate or above, case requests and cases) stay
for ``privacy.safety_record_retention_days`` and then go too; this module is the job that
makes that true. It runs once a day in ``heartguard run`` and ``heartguard worker`` (see
``bot/scheduler.py``) and on demand with ``heartguard retention run [--dry-run]``. Each run
is audited with its counts.

What goes, for students who asked to be erased (status ``deleted``):

- assessments that are not safety records (levels none and low, tied to no case request),
  at once: /delete promised the student's messages go, and these only describe them;
- safety records older than the retention period: risk assessments and case requests by
  when they were made, and closed cases (with their events and alerts) by when they closed.
  An open case is never deleted: a person is still working on it;
- the student row of an erased anonymous student once nothing else of theirs is left (a
  roster student's row is the school's roster, removed with ``heartguard students remove``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.lifecycle import CLOSED_STATUSES
from storage.audit import audit
from storage.models import Case, CaseRequest, RiskAssessmentRecord, Student

log = logging.getLogger(__name__)
ACTOR = "system:retention"
NOT_SAFETY_LEVELS = ("none", "low")
KINDS = (
    ("everyday_assessments", "everyday risk assessment(s) of erased students"),
    ("safety_assessments", "risk assessment(s) past retention"),
    ("case_requests", "case request(s) past retention"),
    ("cases", "closed case(s) past retention, with their events and alerts"),
    ("students", "erased anonymous student record(s) with nothing left"),
)


@dataclass
class RetentionReport:
    """What one run deleted (or, dry, would delete), per kind."""

    dry_run: bool
    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Everything together."""
        return sum(self.counts.values())


def _erased() -> Select[int]:
    return select(Student.id).where(Student.status == "deleted")


async def _count_or_delete(
    session: AsyncSession, model: type, condition: ColumnElement[bool], *, dry_run: bool
) -> int:
    if dry_run:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(condition)) or 0
        )
    result = await session.execute(delete(model).where(condition))
    return int(getattr(result, "rowcount", 0) or 0)


async def sweep(
    session: AsyncSession, *, now: datetime, retention_days: int, dry_run: bool, actor: str = ACTOR
) -> RetentionReport:
    """Delete (or count) what retention says must go, in the caller's transaction; audited.

    Each kind's condition looks only at what stays, so a dry run counts exactly what a real
    run deletes, in any order.
    """
    cutoff = now - timedelta(days=retention_days)
    report = RetentionReport(dry_run=dry_run, cutoff=cutoff)
    # "IS NOT NULL" spelled out: NOT over a NULL comparison is NULL, and an open case (no
    # closed_at) must count as staying.
    case_goes = (
        Case.status.in_(CLOSED_STATUSES) & Case.closed_at.is_not(None) & (Case.closed_at < cutoff)
    )
    request_goes = CaseRequest.handled_at.is_not(None) & (CaseRequest.created_at < cutoff)
    # An assessment a staying case request points to stays with it.
    pointed_at = exists().where(CaseRequest.assessment_id == RiskAssessmentRecord.id, ~request_goes)
    everyday = RiskAssessmentRecord.level.in_(NOT_SAFETY_LEVELS)
    old = RiskAssessmentRecord.created_at < cutoff
    erased = RiskAssessmentRecord.student_id.in_(_erased())
    report.counts["everyday_assessments"] = await _count_or_delete(
        session, RiskAssessmentRecord, erased & everyday & ~pointed_at, dry_run=dry_run
    )
    report.counts["safety_assessments"] = await _count_or_delete(
        session, RiskAssessmentRecord, erased & ~everyday & old & ~pointed_at, dry_run=dry_run
    )
    report.counts["case_requests"] = await _count_or_delete(
        session,
        CaseRequest,
        CaseRequest.student_id.in_(_erased()) & request_goes,
        dry_run=dry_run,
    )
    report.counts["cases"] = await _count_or_delete(
        session, Case, Case.student_id.in_(_erased()) & case_goes, dry_run=dry_run
    )
    assessment_goes = (everyday | old) & ~pointed_at
    leftover = (
        exists().where(Case.student_id == Student.id, ~case_goes)
        | exists().where(CaseRequest.student_id == Student.id, ~request_goes)
        | exists().where(RiskAssessmentRecord.student_id == Student.id, ~assessment_goes)
    )
    report.counts["students"] = await _count_or_delete(
        session,
        Student,
        (Student.status == "deleted") & Student.school_id.is_(None) & ~leftover,
        dry_run=dry_run,
    )
    audit(
        session,
        now=now,
        actor=actor,
        action="retention_dry_run" if dry_run else "retention_run",
        subject_type="retention",
        subject_id="-",
        retention_days=retention_days,
        **report.counts,
    )
    return report


class RetentionJob:
    """The daily run, in its own transaction; failures are logged and retried next day."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], retention_days: int) -> None:
        self.sessions = sessions
        self.retention_days = retention_days

    async def run(self, now: datetime) -> RetentionReport | None:
        """One run; returns its report, or None when it failed (logged)."""
        try:
            async with self.sessions.begin() as session:
                report = await sweep(
                    session, now=now, retention_days=self.retention_days, dry_run=False
                )
        except Exception as exc:
            log.error("retention run failed (%s); the next run retries", type(exc).__name__)
            return None
        if report.total:
            log.info(
                "retention: deleted %s",
                ", ".join(f"{count} {kind}" for kind, count in report.counts.items() if count),
            )
        return report
