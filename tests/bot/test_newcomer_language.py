"""A newcomer is answered in the language they write in until they choose one (transcripts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.config.settings import load_settings
from bot.services.language import script_language
from bot.services.pipeline import Outcome
from flows import load_catalog
from storage.crypto import DataCipher
from storage.models import CaseRequest, ChannelIdentity, Student

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
# The first line of the onboarding's "about" text, in each language, as the catalog has it.
ABOUT_EN = load_catalog().text("onboarding.about", "en").splitlines()[0]
ABOUT_ZH = load_catalog().text("onboarding.about", "zh").splitlines()[0]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def chat(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> Console:
    app = AppContext(load_settings(None, {}), engine, sessions, cipher)
    return Console(build_runtime(app, clock=Clock(), plugs={"telegram": None}).students)


def said(outcome: Outcome) -> str:
    return "\n".join(reply.text for reply in outcome.replies)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I have been thinking about ending it all", "en"),
        ("我最近压力好大", "zh"),
        ("I feel 难过", "zh"),  # a mix keeps Chinese
        ("ｈｅｌｌｏ there", "en"),
        ("", None),
        ("123 😀 ！", None),
    ],
)
def test_the_script_decides(text: str, language: str | None) -> None:
    assert script_language(text) == language


async def test_a_crisis_in_english_as_the_very_first_message_is_answered_in_english(
    chat: Console, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await chat.send("n1", "text", "I'm on the roof right now and I'm going to jump")
    assert first.language == "en"
    text = said(first)
    assert "12356" in text
    assert "call 110" in text.lower()  # the crisis reply, in English
    assert "我" not in text.replace("你好！我是心卫", "")
    async with sessions() as session:
        assert await session.scalar(select(CaseRequest.priority)) == "emergency"


async def test_english_until_the_student_chooses_then_their_choice(
    chat: Console, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("n1", "command", "start")  # no letters to go by: Chinese, undecided
    hello = await chat.send("n1", "text", "hi, what is this?")
    assert hello.language == "en"
    later = await chat.send("n1", "text", "我不太懂")  # the first message decided; still English
    assert later.language == "en"
    chosen = await chat.send("n1", "button", "zh")
    assert ABOUT_ZH in said(chosen)
    after = await chat.send("n1", "text", "I don't get it")
    assert after.language == "zh"
    async with sessions() as session:
        student = await session.scalar(
            select(Student).join(ChannelIdentity).where(ChannelIdentity.external_id == "n1")
        )
        assert student is not None
        assert (student.language, student.language_source) == ("zh", "chosen")


async def test_chinese_first_stays_chinese_and_english_choice_wins(chat: Console) -> None:
    first = await chat.send("n2", "text", "我想自杀")
    assert first.language == "zh"
    assert "12356" in said(first)
    assert "I'm" not in said(first).replace("Hi! I'm HeartGuard.", "")
    english = await chat.send("n2", "command", "start")
    assert english.language == "zh"
    picked = await chat.send("n2", "button", "en")
    assert ABOUT_EN in said(picked)
