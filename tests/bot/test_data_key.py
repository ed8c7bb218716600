"""A wrong or stale HEARTGUARD_DATA_KEY is refused at start in one line; one unreadable row
mid-run never stops a crisis message from being assessed; counselor notes are ciphertext.
Real SQLite and PostgreSQL, the real CLI in-process.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime, open_runtime
from bot.channels.console import Console
from bot.cli.main import main
from bot.config.settings import Settings, load_settings
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import CaseEvent, CaseRequest, ChannelIdentity, Message, Student

Capture = pytest.CaptureFixture[str]
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOTE = "已联系家长 13800138000"


def new_key() -> str:
    return Fernet.generate_key().decode()


def refused(argv: list[str], capsys: Capture) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err
    ours = [line for line in err.splitlines() if line.startswith("heartguard:")]
    assert len(ours) == 1, err  # log lines of the libraries aside, one line of ours
    return ours[0]


def ok(argv: list[str], capsys: Capture) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


# `demo` is not here: it always uses its own database and key (var/demo.db, var/demo.key).
@pytest.mark.parametrize("command", [["worker"], ["chat", "--jsonl"], ["run"]])
def test_a_wrong_key_is_refused_at_start_in_one_line(
    cli_env: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    ok(["db", "upgrade"], capsys)  # records the key's fingerprint
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", new_key())
    monkeypatch.setenv("HEARTGUARD_TELEGRAM_TOKEN", "123456:offline-test-token")
    assert refused(command, capsys) == (
        "heartguard: error: HEARTGUARD_DATA_KEY is wrong: none of its keys is the one this "
        "database was written with"
    )


def test_rotation_moves_the_check_and_the_old_key_is_then_stale(
    cli_env: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    old = os.environ["HEARTGUARD_DATA_KEY"]
    ok(["db", "upgrade"], capsys)
    ok(["schools", "add", "BB01", "示例"], capsys)
    ok(["cases", "list"], capsys)
    new = new_key()
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", f"{new},{old}")
    ok(["cases", "list"], capsys)  # mid-rotation, the documented order: allowed
    ok(["db", "rotate-key"], capsys)
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", old)
    assert refused(["worker"], capsys) == (
        "heartguard: error: HEARTGUARD_DATA_KEY is stale: its first key was retired by "
        "`heartguard db rotate-key`; put the current key first"
    )
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", new)
    ok(["cases", "list"], capsys)
    ok(["db", "upgrade"], capsys)


async def seed(url: str, token: bytes | None = None, *, request: bool = False) -> None:
    """A student, maybe a stored message under ``token``, maybe a case request."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            student = Student(display_name="测试", status="active", created_at=NOW)
            session.add(student)
            await session.flush()
            if token is not None:
                session.add(
                    Message(
                        student_id=student.id,
                        direction="in",
                        kind="text",
                        channel="console",
                        text_enc=token,
                        created_at=NOW,
                    )
                )
            if request:
                session.add(
                    CaseRequest(
                        student_id=student.id,
                        priority="urgent",
                        reason="risk_high",
                        categories=[],
                        details={},
                        created_at=NOW,
                    )
                )
    finally:
        await engine.dispose()


def test_without_a_recorded_check_the_key_is_tried_on_stored_text(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    # A database from before the check: its text was written with another key.
    asyncio.run(seed(db_url, DataCipher([new_key()]).encrypt("以前的话")))
    assert refused(["cases", "list"], capsys) == (
        "heartguard: error: HEARTGUARD_DATA_KEY is wrong: it cannot decrypt the text already "
        "stored in this database"
    )
    assert refused(["db", "upgrade"], capsys).startswith("heartguard: error: HEARTGUARD_DATA_KEY")


async def test_an_unreadable_row_in_the_window_never_stops_a_crisis_message(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    cipher: DataCipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = AppContext(load_settings(None, {}), engine, sessions, cipher)
    chat = Console(build_runtime(app, plugs={"telegram": None}).students)
    await chat.send("s1", "text", "你好")
    async with sessions.begin() as session:
        identity = (await session.scalars(select(ChannelIdentity))).one()
        # One earlier message was written under a key this process no longer holds.
        lost = Message(
            student_id=identity.student_id,
            direction="in",
            kind="text",
            channel="console",
            text_enc=DataCipher([new_key()]).encrypt("旧钥匙写下的话"),
            created_at=NOW,
        )
        session.add(lost)
        await session.flush()
        lost_id = lost.id
    with caplog.at_level(logging.WARNING):
        outcome = await chat.send("s1", "text", "我今晚就去跳楼，药已经准备好了")
    assert outcome.assessment is not None
    assert outcome.assessment.level.label in ("high", "imminent")
    assert outcome.created_case_request
    async with sessions() as session:
        assert (await session.scalars(select(CaseRequest))).all() != []
    lines = [r.getMessage() for r in caplog.records]
    # The detector keeps its own state of the conversation and never reads earlier messages,
    # so the unreadable one is not even touched; nothing it said reaches a log either way.
    assert lost_id > 0
    assert not any("旧钥匙" in line or "跳楼" in line for line in lines)


def test_a_note_is_stored_encrypted_and_shown_decrypted(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    asyncio.run(seed(db_url, request=True))
    ok(["db", "upgrade"], capsys)
    asyncio.run(tick(load_settings(None)))
    assert "(#1) is open" in ok(["cases", "note", "1", NOTE], capsys)
    event = asyncio.run(note_event(db_url))
    assert NOTE not in str(event.details)
    assert event.note_enc is not None
    assert b"13800138000" not in event.note_enc
    shown = ok(["cases", "show", "1"], capsys)
    assert f"note: {NOTE}" in shown


async def tick(settings: Settings) -> None:
    async with open_runtime(settings) as runtime:
        await runtime.green.engine.tick(datetime.now(UTC))


async def note_event(url: str) -> CaseEvent:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            event = await session.scalar(select(CaseEvent).where(CaseEvent.action == "note"))
    finally:
        await engine.dispose()
    assert event is not None
    return event
