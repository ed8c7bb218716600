"""Issue 18's scenarios through the console channel, the real detector and the green channel,
on SQLite and PostgreSQL: what the student reads, and which case opens at which priority.

A school counselor is on duty on the console channel, so ``{alerted}`` says they were told;
the flow-level transcripts (``tests/flows/test_transcripts.py``) cover each branch in detail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import CHANNEL, Console
from bot.config.settings import load_settings
from bot.services import admin
from bot.services.pipeline import Outcome
from escalation.duty import round_the_clock
from storage.crypto import DataCipher
from storage.models import Case, CaseRequest, ChannelIdentity, CheckinResult, Student

MONDAY_10 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TOLD = {"zh": "我已经通知了学校值班的心理老师", "en": "I've told the school counselor on duty"}


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_10

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def app(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    return AppContext(load_settings(None, {}), engine, sessions, cipher)


async def setup(app: AppContext, *, grade: int | None, language: str) -> Console:
    """A school with a counselor on duty on the console, and one onboarded student."""
    async with app.sessions.begin() as session:
        school = await admin.add_school(
            session, code="C01", name="临床中学", timezone="Asia/Shanghai", now=MONDAY_10, actor="t"
        )
        counselor = await admin.add_counselor(
            session,
            name="老师",
            role="school_counselor",
            school_refs=["C01"],
            contacts=[("console", "desk")],
            now=MONDAY_10,
            actor="t",
        )
        round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=MONDAY_10)
        student = Student(
            school_id=school.id,
            display_name="小安",
            grade=grade,
            language=language,
            status="active",
            onboarded=True,
            guardian_consent=True,
            consent_at=MONDAY_10,
            created_at=MONDAY_10,
        )
        session.add(student)
        await session.flush()
        session.add(
            ChannelIdentity(
                student_id=student.id,
                channel=CHANNEL,
                external_id="s1",
                chat_id="s1",
                created_at=MONDAY_10,
            )
        )
    runtime = build_runtime(app, clock=Clock(), plugs={"telegram": None})

    async def tick(outcome: object) -> None:
        await runtime.green.engine.tick(MONDAY_10 + timedelta(minutes=1))

    return Console(runtime.students, after_commit=tick)


def said(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


def keys(outcome: Outcome) -> list[str]:
    return [key for key, _ in outcome.replies[-1].buttons] if outcome.replies else []


async def open_case(app: AppContext) -> tuple[str, str] | None:
    async with app.sessions() as session:
        case = await session.scalar(select(Case).order_by(Case.id.desc()))
    return (case.priority, case.reason) if case else None


async def requests(app: AppContext) -> list[tuple[str, str]]:
    async with app.sessions() as session:
        rows = (await session.execute(select(CaseRequest.priority, CaseRequest.reason))).all()
    return [(p, r) for p, r in rows]


LANGS = pytest.mark.parametrize("lang", ["zh", "en"])


@LANGS
async def test_rooftop_then_i_dont_know(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=9, language=lang)
    roof = {"zh": "我现在站在楼顶", "en": "I am on the roof right now"}[lang]
    outcome = await chat.send("s1", "text", roof)
    assert outcome.replies[0].text.startswith(
        {"zh": "请你现在就打 110", "en": "Please call 110 now"}[lang]
    )
    assert TOLD[lang] in said(outcome)
    assert await open_case(app) == ("emergency", "risk_imminent")
    unsure = await chat.send("s1", "text", {"zh": "我不知道", "en": "I don't know"}[lang])
    text = said(unsure)
    assert "110" in text
    assert "120" in text
    assert {"zh": "慢慢说", "en": "take your time"}[lang] not in text


@LANGS
async def test_named_means(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=10, language=lang)
    text = {"zh": "药已经准备好了", "en": "I have the pills ready"}[lang]
    outcome = await chat.send("s1", "text", text)
    assert {"zh": "药、刀、绳子", "en": "pills, knives or rope"}[lang] in said(outcome)
    assert await open_case(app) == ("urgent", "risk_high")


@LANGS
async def test_a_ten_year_olds_disclosure_and_plea(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=5, language=lang)
    disclosure = {
        "zh": "他们说告诉老师就打我",
        "en": "they said they will beat me if I tell the teacher",
    }[lang]
    outcome = await chat.send("s1", "text", disclosure)
    text = said(outcome)
    assert {"zh": "我相信你", "en": "I believe you"}[lang] in text
    assert {"zh": "不能帮你保密", "en": "can't keep this secret"}[lang] in text
    assert TOLD[lang] in text
    assert "110" in text
    assert "checkin" not in keys(outcome)
    assert await open_case(app) == ("urgent", "safeguarding")
    plea = await chat.send(
        "s1", "text", {"zh": "你不要告诉别人", "en": "please don't tell anyone"}[lang]
    )
    assert {"zh": "不能答应你保密", "en": "can't promise to keep this secret"}[lang] in said(plea)
    assert {"zh": "也在认真听", "en": "I'm here, and I'm listening"}[lang] not in said(plea)
    assert "checkin" not in keys(plea)


@LANGS
async def test_a_friend_tonight(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=8, language=lang)
    friend = {"zh": "我同桌说她想自杀", "en": "my friend said she wants to kill herself"}[lang]
    outcome = await chat.send("s1", "text", friend)
    assert {"zh": "不是出卖", "en": "not betraying"}[lang] in said(outcome)
    assert await open_case(app) == ("urgent", "peer_concern")
    tonight = {"zh": "她说今晚就要吃药", "en": "my friend says she will take pills tonight"}[lang]
    later = await chat.send("s1", "text", tonight)
    text = said(later)
    assert "110" in text
    assert "120" in text
    assert {"zh": "很多同学", "en": "Lots of students"}[lang] not in text
    assert "checkin" not in keys(later)


async def press_through(chat: Console, answers: list[str]) -> Outcome:
    outcome = await chat.send("s1", "command", "checkin")
    for answer in answers:
        outcome = await chat.send("s1", "button", answer)
    return outcome


FREQ = ["not_at_all", "several_days", "more_than_half", "nearly_every_day"]


@LANGS
async def test_item9_positive_with_a_negative_asq(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=10, language=lang)
    phq = [FREQ[s] for s in (3, 2, 2, 2, 2, 2, 2, 1, 1)]  # PHQ-A total 17, item 9 = 1
    outcome = await press_through(
        chat, ["mood_2", "skip", *phq[:2], "not_at_all", "not_at_all", *phq[2:], *["no"] * 4]
    )
    assert {"zh": "不如死掉", "en": "better off dead"}[lang] in said(outcome)
    assert TOLD[lang] in said(outcome)
    assert sorted(await requests(app)) == [("routine", "checkin_score"), ("urgent", "phq_item9")]
    assert await open_case(app) == ("urgent", "phq_item9")


@LANGS
async def test_an_abandoned_asq(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=8, language=lang)
    await chat.send("s1", "text", {"zh": "活着没意思", "en": "life is pointless"}[lang])
    await chat.send("s1", "button", "no")
    outcome = await chat.send("s1", "command", "cancel")
    assert TOLD[lang] in said(outcome)
    assert await open_case(app) == ("urgent", "asq_incomplete_positive")


@LANGS
async def test_skipped_screen_items(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=8, language=lang)
    outcome = await press_through(
        chat,
        [
            "mood_4",
            "skip",
            "several_days",
            "skip",
            "not_at_all",
            "not_at_all",
            *["skip"] * 6,
            "not_at_all",
            *["no"] * 4,
        ],
    )
    assert {"zh": "过得还可以", "en": "going okay"}[lang] not in said(outcome)
    async with app.sessions() as session:
        rows = (await session.execute(select(CheckinResult.instrument, CheckinResult.band))).all()
    bands = dict(rows)
    assert bands["phq2"] == "unscored"
    assert bands["phq9"] == "unscored"  # the full form was asked
    assert await open_case(app) is None


@LANGS
async def test_a_grade_3_check_in(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=3, language=lang)
    outcome = await press_through(chat, ["mood_3", "skip", "often", "often", "never"])
    assert "plan" not in keys(outcome)
    async with app.sessions() as session:
        instruments = set((await session.scalars(select(CheckinResult.instrument))).all())
    assert instruments == {"mood", "mood_check"}  # no PHQ, no ASQ at 8
    assert await open_case(app) is None


@LANGS
async def test_an_unknown_grade_student(app: AppContext, lang: str) -> None:
    chat = await setup(app, grade=None, language=lang)
    outcome = await press_through(chat, ["mood_3", "skip", *["not_at_all"] * 4])
    assert keys(outcome) == ["yes", "no", "refuse"]  # the ASQ follows the adolescent check
    outcome = await chat.send("s1", "button", "yes")
    for _ in range(3):
        outcome = await chat.send("s1", "button", "no")
    outcome = await chat.send("s1", "button", "no")  # Q5: not right now
    assert await open_case(app) == ("urgent", "asq_non_acute_positive")
    assert TOLD[lang] in said(outcome)
