"""Counselor feedback on alerts: "confirmed risk" or "false alarm", and its export for tuning.

A mark is scope-checked like any case action and recorded as a case event. The export lists
each marked alert's detector level, categories and version, the mark and its dates, without
students; the flagged message's text is added only for the district role (``with_text``),
and that export is audited as a named one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.reports.access import refuse, viewer_for
from bot.services.students import printable
from escalation.actions import Actor, CaseActionError, NotAllowedError, can_see
from escalation.cases import present, record
from storage.audit import audit
from storage.crypto import DataCipher
from storage.models import AlertMark, Case, Message, RiskAssessmentRecord

MARKS = ("confirmed", "false_alarm")


@dataclass(frozen=True)
class Marked:
    """What marking did: the case, the mark, and whether it replaced another."""

    case_id: int
    mark: str
    previous: str | None


class Feedback:
    """Marks alerts and exports the marks."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher) -> None:
        self.sessions = sessions
        self.cipher = cipher

    async def mark(self, case_id: int, mark: str, actor: Actor, now: datetime) -> Marked:
        """Mark a case's alert; a later mark replaces an earlier one (both are case events).

        Raises:
            CaseActionError: an unknown mark or case.
            NotAllowedError: the case is outside the counselor's schools (recorded).
        """
        if mark not in MARKS:
            raise CaseActionError(f"mark: expected one of {', '.join(MARKS)}")
        async with self.sessions() as session, session.begin():
            case = await session.get(Case, case_id)
            if case is None:
                raise CaseActionError(f"no case #{case_id}")
            if not await can_see(session, actor, case):
                record(
                    session,
                    case,
                    actor=actor.label,
                    action="refused",
                    now=now,
                    attempted="mark",
                    why="scope",
                )
                await session.commit()
                raise NotAllowedError(f"case #{case_id} is outside your schools")
            row = await session.scalar(select(AlertMark).where(AlertMark.case_id == case.id))
            previous = row.mark if row is not None else None
            assessment = (
                await session.get(RiskAssessmentRecord, case.assessment_id)
                if case.assessment_id is not None
                else None
            )
            if row is None:
                row = AlertMark(case_id=case.id, created_at=now)
                session.add(row)
            row.mark, row.actor, row.counselor_id = mark, actor.label, actor.counselor_id
            row.created_at = now
            row.assessment_id = assessment.id if assessment else None
            row.level = assessment.level if assessment else None
            row.categories = list(assessment.categories) if assessment else list(case.categories)
            row.detector_version = assessment.detector_version if assessment else None
            record(
                session,
                case,
                actor=actor.label,
                action="marked",
                now=now,
                mark=mark,
                **present(previous=previous),
            )
        return Marked(case_id, mark, previous)

    async def export(
        self, *, actor: Actor, now: datetime, with_text: bool = False
    ) -> list[dict[str, Any]]:
        """Every mark in the actor's scope, oldest first (text only for the district role).

        Raises:
            NotAllowedError: ``with_text`` without the district role (audited).
        """
        async with self.sessions.begin() as session:
            viewer = await viewer_for(session, actor)
            if with_text and not viewer.district:
                error = refuse(
                    session,
                    viewer,
                    now=now,
                    attempted="feedback_export_text",
                    subject_type="feedback",
                    subject_id="all",
                    why="the students' words need the district role",
                )
            else:
                error = None
                query = (
                    select(AlertMark, Case.school_id, Case.reason, Case.created_at)
                    .join(Case, Case.id == AlertMark.case_id)
                    .order_by(AlertMark.created_at, AlertMark.id)
                )
                if not viewer.district:
                    query = query.where(Case.school_id.in_(viewer.schools or {-1}))
                rows = (await session.execute(query)).all()
                texts = (
                    await self._texts(session, [m.assessment_id for m, *_ in rows])
                    if with_text
                    else {}
                )
                out = [
                    {
                        "case": mark.case_id,
                        "reason": reason,
                        "level": mark.level,
                        "categories": list(mark.categories),
                        "detector_version": mark.detector_version,
                        "mark": mark.mark,
                        "alert_at": opened.isoformat(),
                        "marked_at": mark.created_at.isoformat(),
                        **({"text": texts.get(mark.assessment_id or -1)} if with_text else {}),
                    }
                    for mark, _school, reason, opened in rows
                ]
                audit(
                    session,
                    now=now,
                    actor=actor.label,
                    action="feedback_exported",
                    subject_type="feedback",
                    subject_id="all",
                    rows=len(out),
                    with_text=with_text,
                )
        if error is not None:
            raise error
        return out

    async def _texts(
        self, session: AsyncSession, assessment_ids: list[int | None]
    ) -> dict[int, str | None]:
        wanted = [i for i in assessment_ids if i is not None]
        if not wanted:
            return {}
        rows = (
            await session.execute(
                select(RiskAssessmentRecord.id, Message.text_enc)
                .join(Message, Message.id == RiskAssessmentRecord.message_id)
                .where(RiskAssessmentRecord.id.in_(wanted))
            )
        ).all()
        return {
            ident: printable(self.cipher.decrypt(token)) if token else None for ident, token in rows
        }
