"""Risk across messages, through the pipeline: the detector's state lives with the conversation.

A plan in one message and a time in the next reach imminent together, even when the last
message is bland; the state is stored (encrypted) with the conversation, so it survives a
restart of the process; no earlier message is read again to assess a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.cli.main import main
from bot.config.settings import load_settings
from bot.errors import HeartGuardError
from lexicons.model import ModelError
from storage.crypto import DataCipher
from storage.models import CaseRequest
from storage.models import Conversation as ConversationRow

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=30)
        return self.now


@pytest.fixture
def app(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    return AppContext(load_settings(None, {}), engine, sessions, cipher)


def console(app: AppContext) -> Console:
    """A fresh runtime each time: nothing carried in memory between them."""
    return Console(build_runtime(app, clock=Clock(), plugs={"telegram": None}).students)


async def test_a_plan_then_a_bland_goodbye_is_imminent_across_a_restart(
    app: AppContext, engine: AsyncEngine
) -> None:
    first = await console(app).send("s1", "text", "我把攒了好久的安眠药都放在抽屉里了")
    assert first.assessment is not None
    async with app.sessions() as session:
        row = await session.scalar(select(ConversationRow))
    assert row is not None
    assert row.risk_state_enc is not None  # stored with the conversation, encrypted
    assert "安眠药".encode() not in row.risk_state_enc
    assert "安眠药" not in app.cipher.decrypt(row.risk_state_enc)  # cues, never the text

    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        reads.append(statement)

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", count)
    try:
        # Another process (a new runtime) gets the last message of the plan.
        later = await console(app).send("s1", "text", "今晚就这样吧 大家再见")
    finally:
        event.remove(sync, "before_cursor_execute", count)
    assert later.assessment is not None
    assert later.assessment.level.label == "imminent"
    assert not [s for s in reads if "FROM messages" in s]  # no earlier message read again
    async with app.sessions() as session:
        priorities = (await session.scalars(select(CaseRequest.priority))).all()
    assert "emergency" in priorities


async def test_an_unreadable_state_starts_afresh_and_the_message_is_still_assessed(
    app: AppContext,
) -> None:
    await console(app).send("s1", "text", "最近有点累")
    async with app.sessions.begin() as session:
        row = await session.scalar(select(ConversationRow))
        assert row is not None
        row.risk_state_enc = app.cipher.encrypt('{"not": "a state"}')
    outcome = await console(app).send("s1", "text", "我想自杀")
    assert outcome.assessment is not None
    assert outcome.assessment.level.label in ("high", "imminent")


def test_a_broken_model_file_stops_the_process_in_one_line(
    cli_env: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> object:
        raise ModelError("lexicons/data/model/risk-model.hgm: checksum mismatch")

    monkeypatch.setattr("bot.bootstrap.default_detector", broken)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["chat", "--jsonl"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "heartguard: error: lexicons/data/model/risk-model.hgm: checksum mismatch"
    )
    assert issubclass(ModelError, ValueError)
    assert not issubclass(ModelError, HeartGuardError)  # the bootstrap names it for people
