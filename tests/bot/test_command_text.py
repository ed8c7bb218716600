"""Words after a command are read: "/talk 我今晚就去跳楼" raises a case like the words alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console, classify
from bot.config.settings import load_settings
from bot.services.pipeline import Inbound, Outcome, scanned_text, split_command
from storage.crypto import DataCipher
from storage.models import CaseRequest, Message, RiskAssessmentRecord

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class Clock:
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


def console(app: AppContext) -> Console:
    return Console(build_runtime(app, clock=Clock(), plugs={"telegram": None}).students)


def events(outcome: Outcome, name: str) -> list[dict[str, object]]:
    return [e for e in outcome.events if e["event"] == name]


@pytest.mark.parametrize(
    ("line", "name", "rest"),
    [
        ("/talk 我今晚就去跳楼，药已经准备好了", "talk", "我今晚就去跳楼，药已经准备好了"),
        ("/help@HeartGuardBot 我现在就站在楼顶", "help", "我现在就站在楼顶"),
        ("/HELP\n我  好难受", "help", "我  好难受"),
        ("/checkin", "checkin", ""),
    ],
)
def test_a_command_line_splits_into_name_and_words(line: str, name: str, rest: str) -> None:
    kind, value = classify(line)
    assert kind == "command"
    assert split_command(value) == (name, rest)
    inbound = Inbound(channel="console", external_id="s", kind="command", value=value)
    assert scanned_text(inbound) == (rest or None)


@pytest.mark.parametrize("line", ["/talk 我今晚就去跳楼，药已经准备好了", "/help 我现在就站在楼顶"])
async def test_crisis_words_after_a_command_raise_a_case_like_the_words_alone(
    app: AppContext, line: str
) -> None:
    chat = console(app)
    kind, value = classify(line)
    after_command = await chat.send("s1", kind, value)
    alone = await chat.send("s2", "text", split_command(value)[1])
    assert after_command.assessment is not None
    assert alone.assessment is not None
    assert after_command.assessment.level == alone.assessment.level
    assert after_command.assessment.level.label in ("high", "imminent")
    [asked] = events(after_command, "case_requested")
    assert asked["priority"] == events(alone, "case_requested")[0]["priority"]
    assert "12356" in "\n".join(r.text for r in after_command.replies)
    async with app.sessions() as session:
        requests = (await session.scalars(select(CaseRequest))).all()
        assert len(requests) == 2
        assessments = (await session.scalars(select(RiskAssessmentRecord))).all()
        assert len(assessments) == 2
        first = await session.scalar(select(Message).order_by(Message.id))
        assert first is not None
        assert first.text_enc is not None
        # Nothing the student wrote is lost: the whole command line is stored (encrypted).
        assert app.cipher.decrypt(first.text_enc) == value


async def test_the_command_still_runs_when_the_words_are_calm(app: AppContext) -> None:
    chat = console(app)
    outcome = await chat.send("s1", "command", "help 我想问一下怎么用")
    assert outcome.assessment is not None
    assert outcome.assessment.level.label == "none"
    assert not events(outcome, "case_requested")
    assert "12356" in "\n".join(r.text for r in outcome.replies)  # /help's own answer
