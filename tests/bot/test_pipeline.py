"""The message pipeline end to end through the console channel, on SQLite and PostgreSQL.

Conversations read like transcripts; every check looks at what the student saw or at what
the database now holds.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.config.settings import load_settings
from bot.services import admin, enrollment, roster_import
from bot.services.pipeline import Outcome
from storage.crypto import DataCipher
from storage.models import (
    CaseRequest,
    ChannelIdentity,
    CheckinResult,
    Conversation,
    Message,
    RiskAssessmentRecord,
    Student,
)

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "BB01,初二(1)班,8,S001,测试甲,yes\n"
    "BB01,五年级(1)班,5,S002,测试乙,no\n"
).encode()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def app(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    return AppContext(load_settings(None, {}), engine, sessions, cipher)


@pytest.fixture
async def code(app: AppContext) -> str:
    async with app.sessions.begin() as session:
        await admin.add_school(
            session, code="BB01", name="示例中学", timezone="Asia/Shanghai", now=START, actor="t"
        )
        await roster_import.import_roster(session, ROSTER, now=START, actor="t")
        issued = await enrollment.issue_codes(
            session,
            app.cipher,
            school_ref="BB01",
            class_name=None,
            student_number="S001",
            ttl=timedelta(days=7),
            now=START,
            actor="t",
        )
    return issued[0].code


NO_TELEGRAM = {"telegram": None}


def console(app: AppContext) -> Console:
    return Console(build_runtime(app, clock=Clock(), plugs=NO_TELEGRAM).students)


def said(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def events(outcome: Outcome, name: str) -> list[dict[str, object]]:
    return [e for e in outcome.events if e["event"] == name]


async def onboard(chat: Console, who: str, code: str) -> None:
    await chat.send(who, "command", "start")
    await chat.send(who, "button", "zh")
    await chat.send(who, "button", "agree")
    await chat.send(who, "button", "have_code")
    linked = await chat.send(who, "text", code)
    assert events(linked, "student_linked")
    last = linked
    for _ in range(3):
        if not last.replies or not last.replies[-1].buttons:
            break
        last = await chat.send(who, "button", "1")


async def count(app: AppContext, model: type, **where: object) -> int:
    async with app.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def test_unknown_student_is_led_to_onboarding(app: AppContext) -> None:
    chat = console(app)
    outcome = await chat.send("s1", "text", "你好")
    assert "Which language" in said(outcome)
    assert [label for _, label in outcome.replies[-1].buttons] == ["简体中文", "English"]


async def test_onboarding_with_a_code_links_the_roster_student(app: AppContext, code: str) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    async with app.sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None
        student = await session.get(Student, identity.student_id)
        assert student is not None
        assert (student.student_number, student.status) == ("S001", "active")
        assert student.consent_at is not None
        assert student.onboarded
    assert await count(app, Student, status="unlinked") == 0
    again = await chat.send("s2", "command", "start")
    await chat.send("s2", "button", "zh")
    await chat.send("s2", "button", "agree")
    await chat.send("s2", "button", "have_code")
    used = await chat.send("s2", "text", code)
    assert not events(used, "student_linked")
    assert again.replies


async def test_crisis_mid_checkin_requests_an_emergency_case_and_shows_lines(
    app: AppContext, code: str
) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    start = await chat.send("s1", "command", "checkin")
    assert start.replies
    outcome = await chat.send("s1", "text", "我已经把一整瓶安眠药都吃了")
    assert outcome.assessment is not None
    assert outcome.assessment.level.label == "imminent"
    assert events(outcome, "case_requested")[0]["priority"] == "emergency"
    text = said(outcome)
    for number in ("12356", "120", "110"):
        assert number in text
    async with app.sessions() as session:
        request = await session.scalar(select(CaseRequest))
        assert request is not None
        assert (request.priority, request.handled_at) == ("emergency", None)
        assert request.assessment_id is not None
        assessment = await session.get(RiskAssessmentRecord, request.assessment_id)
        assert assessment is not None
        assert assessment.level == "imminent"
        assert "一整瓶" not in json.dumps(assessment.evidence, ensure_ascii=False)


async def test_full_weekly_checkin_stores_scored_results(app: AppContext, code: str) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    outcome = await chat.send("s1", "command", "checkin")
    completed: list[dict[str, object]] = []
    for answered in range(40):
        completed += events(outcome, "checkin_completed")
        if any(e["instrument"] in ("gad2", "gad7") for e in completed):
            break  # the screening part is over; the close offers help we do not take here
        assert outcome.replies[-1].buttons, said(outcome)
        # Mood (the first question): the middle option; every item after: "not at all",
        # and "no" to the ASQ that ends every check-in from grade 7.
        keys = [key for key, _ in outcome.replies[-1].buttons]
        choice = "3" if not answered else "no" if "no" in keys else "1"
        outcome = await chat.send("s1", "button", choice)
    instruments = {str(e["instrument"]) for e in completed}
    assert {"phq2", "gad2"} <= instruments
    assert await count(app, CheckinResult) >= 3
    assert await count(app, CaseRequest) == 0


async def test_conversation_survives_a_restart(app: AppContext, code: str) -> None:
    first = console(app)
    await onboard(first, "s1", code)
    before = await first.send("s1", "command", "checkin")
    question = before.replies[-1].text
    restarted = console(app)  # a new process: new pipeline, engine and detector objects
    again = await restarted.send("s1", "text", "随便说点什么")
    assert question in said(again)  # a kind re-prompt of the same question, not a reset


async def test_text_is_encrypted_and_safeguarding_makes_an_urgent_request(
    app: AppContext, code: str
) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    outcome = await chat.send("s1", "text", "我爸喝醉了就打我")
    # Raised from triage's routine: a child who discloses abuse may not be safe tonight.
    assert [e["priority"] for e in events(outcome, "case_requested")] == ["urgent"]
    async with app.sessions() as session:
        tokens = (await session.scalars(select(Message.text_enc))).all()
    assert tokens
    assert all(token is None or "喝醉".encode() not in token for token in tokens)
    assert any(t and app.cipher.decrypt(t) == "我爸喝醉了就打我" for t in tokens)


async def test_two_messages_from_one_student_are_processed_in_order(
    app: AppContext, code: str
) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    await asyncio.gather(
        chat.send("s1", "text", "第一条"),
        chat.send("s1", "text", "第二条"),
        chat.send("s2", "text", "别的同学"),
    )
    async with app.sessions() as session:
        student = await session.scalar(select(Student).where(Student.student_number == "S001"))
        assert student is not None
        rows = (
            await session.scalars(
                select(Message).where(Message.student_id == student.id).order_by(Message.id)
            )
        ).all()
    texts = [app.cipher.decrypt(r.text_enc) for r in rows if r.text_enc][-2:]
    assert texts == ["第一条", "第二条"]


async def test_mydata_exports_and_delete_erases_but_keeps_safety_records(
    app: AppContext, code: str
) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    await chat.send("s1", "text", "我想自杀")
    exported = await chat.send("s1", "command", "mydata")
    [(name, body)] = exported.attachments
    data = json.loads(body)
    assert name.endswith(".json")
    assert any(m["text"] == "我想自杀" for m in data["messages"])
    await chat.send("s1", "command", "cancel")
    asked = await chat.send("s1", "command", "delete")
    assert asked.replies[-1].buttons
    confirm = next(k for k, _ in asked.replies[-1].buttons if "yes" in k or "confirm" in k)
    erased = await chat.send("s1", "button", confirm)
    assert events(erased, "data_erased")
    assert await count(app, Message) == 0
    assert await count(app, ChannelIdentity) == 0
    assert await count(app, Conversation) == 0
    assert await count(app, RiskAssessmentRecord) >= 1  # safety records stay
    assert await count(app, CaseRequest) >= 1


async def test_jsonl_transcript_interleaves_students(app: AppContext) -> None:
    chat = console(app)
    source = io.StringIO(
        '{"from": "a", "text": "你好"}\n'
        '{"from": "b", "text": "hello"}\n'
        "not json\n"
        '{"from": "a", "button": "1"}\n'
        '{"from": "b", "text": "我现在就站在楼顶"}\n'
    )
    sink = io.StringIO()
    assert await chat.run_jsonl(source, sink) == 1
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert {"error": "not a JSON object", "line": 3} in lines
    risk = [ln for ln in lines if ln.get("event") == "risk_assessed" and ln["student"] == "b"]
    assert risk[-1]["level"] == "imminent"
    cases = [ln for ln in lines if ln.get("event") == "case_requested"]
    assert cases
    assert (cases[-1]["student"], cases[-1]["priority"]) == ("b", "emergency")
    assert any(ln.get("to") == "a" for ln in lines)


async def test_a_plan_spread_over_messages_is_caught_by_the_window(
    app: AppContext, code: str
) -> None:
    chat = console(app)
    await onboard(chat, "s1", code)
    first = await chat.send("s1", "text", "我偷偷攒了很多安眠药")
    assert first.assessment is not None
    assert first.assessment.level.label == "high"
    second = await chat.send("s1", "text", "这周五就可以解脱了")
    assert second.assessment is not None
    assert second.assessment.level.label == "imminent"
    assert any(e.message == -1 for e in second.assessment.evidence)
