"""The watch list's rules and scope; counselors' marks on alerts and their export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.settings import load_settings
from bot.services.reports.feedback import Feedback
from bot.services.reports.watch import History, WatchRules, reasons
from bot.services.reports.watch_list import WatchList
from escalation.actions import Actor, NotAllowedError
from storage.crypto import DataCipher
from storage.models import AuditEvent, Case, CaseEvent, Message, RiskAssessmentRecord, Student
from tests.reports.conftest import END

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
RULES = WatchRules()
SETTINGS = load_settings(None, {})


def weeks_ago(n: float) -> datetime:
    return NOW - timedelta(weeks=n)


@pytest.mark.parametrize(
    ("phq9", "expected"),
    [
        ([(weeks_ago(2), 6), (weeks_ago(1), 11)], "phq9_rise"),  # +5 between consecutive
        ([(weeks_ago(3), 4), (weeks_ago(2), 7), (weeks_ago(1), 9)], "phq9_rise"),  # +5 in 4 weeks
        ([(weeks_ago(12), 3), (weeks_ago(1), 9)], "phq9_rise"),  # consecutive, however far apart
        ([(weeks_ago(2), 6), (weeks_ago(1), 10)], None),  # +4 is not enough
        ([(weeks_ago(9), 6), (weeks_ago(8), 12), (weeks_ago(1), 12)], None),  # rise not recent
        ([(weeks_ago(8), 4), (weeks_ago(3), 7), (weeks_ago(1), 9)], None),  # +5 over 7 weeks
    ],
)
def test_a_clinically_meaningful_rise(
    phq9: list[tuple[datetime, int]], expected: str | None
) -> None:
    found = [r.kind for r in reasons(History(phq9=phq9), RULES, NOW)]
    assert found == ([expected] if expected else [])


def test_silence_after_a_positive_asq() -> None:
    asq = [weeks_ago(3)]
    reminders = [weeks_ago(2), weeks_ago(1), NOW - timedelta(hours=2)]
    [why] = reasons(History(asq_positive=asq, reminders=reminders), RULES, NOW)
    assert (why.kind, why.detail) == ("missed_after_asq", {"missed": 2})
    answered = History(asq_positive=asq, reminders=reminders, completed=[weeks_ago(1.5)])
    assert reasons(answered, RULES, NOW) == []


def test_overdue_follow_ups_are_listed_with_their_case() -> None:
    [why] = reasons(History(overdue=[(12, "follow_up")]), RULES, NOW)
    assert (why.kind, why.detail) == ("overdue_follow_up", {"case": 12})


async def test_school_counselors_see_their_schools_the_district_sees_all(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    service = WatchList(sessions, SETTINGS)
    everyone = await service.build(school=None, actor=Actor.admin(), now=END)
    assert everyone, "six weeks of drifting scores put somebody on the list"
    own = await service.build(school=None, actor=Actor.counselor(1), now=END)
    assert own
    assert {e.school for e in own} == {"R00"}
    assert {e.student_id for e in own} <= {e.student_id for e in everyone}
    with pytest.raises(NotAllowedError):
        await service.build(school="R01", actor=Actor.counselor(1), now=END)
    with pytest.raises(NotAllowedError, match="district role"):
        await service.build(school=None, actor=Actor.counselor(1), now=END, export=True)
    exported = await service.build(school=None, actor=Actor.counselor(4), now=END, export=True)
    assert len(exported) == len(everyone)
    async with sessions() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(e.actor, e.action) for e in rows] == [
        ("cli:admin", "watch_list_viewed"),
        ("counselor:1", "watch_list_viewed"),
        ("counselor:1", "refused"),
        ("counselor:1", "refused"),
        ("counselor:4", "watch_list_exported"),
    ]
    assert rows[-1].details == {"students": len(everyone)}


async def _flagged_case(sessions: async_sessionmaker[AsyncSession], cipher: DataCipher) -> int:
    async with sessions.begin() as session:
        student = await session.get(Student, 1)
        assert student is not None
        message = Message(
            student_id=1, direction="in", kind="text", channel="telegram",
            text_enc=cipher.encrypt("我不想活了"), created_at=END,
        )  # fmt: skip
        session.add(message)
        await session.flush()
        assessment = RiskAssessmentRecord(
            message_id=message.id, student_id=1, level="high", categories=["suicide_ideation"],
            evidence=[], explanation="", detector_version="test-9", created_at=END,
        )  # fmt: skip
        session.add(assessment)
        await session.flush()
        await session.execute(
            Case.__table__.update().where(Case.student_id == 1).values(status="resolved")  # type: ignore[attr-defined]
        )
        case = Case(
            student_id=1, school_id=student.school_id, priority="urgent", status="open",
            reason="risk_high", categories=["suicide_ideation"], chain={},
            assessment_id=assessment.id, created_at=END, updated_at=END,
        )  # fmt: skip
        session.add(case)
        await session.flush()
        return case.id


async def test_marks_are_scoped_recorded_and_exported_without_words(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    case_id = await _flagged_case(sessions, cipher)
    feedback = Feedback(sessions, cipher)
    with pytest.raises(NotAllowedError):
        await feedback.mark(case_id, "confirmed", Actor.counselor(2), END)
    first = await feedback.mark(case_id, "false_alarm", Actor.counselor(1), END)
    again = await feedback.mark(case_id, "confirmed", Actor.counselor(1), END)
    assert (first.previous, again.previous) == (None, "false_alarm")
    rows = await feedback.export(actor=Actor.counselor(1), now=END)
    mine = [r for r in rows if r["case"] == case_id]
    assert mine == [
        {
            "case": case_id,
            "reason": "risk_high",
            "level": "high",
            "categories": ["suicide_ideation"],
            "detector_version": "test-9",
            "mark": "confirmed",
            "alert_at": END.isoformat(),
            "marked_at": END.isoformat(),
        }
    ]
    with pytest.raises(NotAllowedError, match="district role"):
        await feedback.export(actor=Actor.counselor(1), now=END, with_text=True)
    worded = await feedback.export(actor=Actor.counselor(4), now=END, with_text=True)
    assert [r["text"] for r in worded if r["case"] == case_id] == ["我不想活了"]
    async with sessions() as session:
        events = (
            await session.scalars(
                select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        ).all()
        audits = (
            await session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.details))
        ).all()
    assert list(events) == ["refused", "marked", "marked"]
    assert [(a, b) for a, b, _ in audits] == [
        ("counselor:1", "feedback_exported"),
        ("counselor:1", "refused"),
        ("counselor:4", "feedback_exported"),
    ]
    assert audits[-1][2]["with_text"] is True
    assert "不想活" not in str(audits)
