"""Student text is unreadable at rest and survives key rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import DataCipher, DataKeyError, load_cipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Message, Student
from storage.rotation import rotate_all

NOW = datetime(2026, 9, 1, tzinfo=UTC)
SECRET_TEXT = "我昨晚一直在哭，谁都不想告诉"  # invented


async def store_message(sessions: async_sessionmaker[AsyncSession], cipher: DataCipher) -> int:
    async with sessions.begin() as session:
        student = Student(display_name="测试学生", created_at=NOW)
        session.add(student)
        await session.flush()
        message = Message(
            student_id=student.id,
            direction="in",
            channel="console",
            text_enc=cipher.encrypt(SECRET_TEXT),
            created_at=NOW,
        )
        session.add(message)
        await session.flush()
        return message.id


async def read_message(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, ident: int
) -> str:
    async with sessions() as session:
        token = await session.scalar(select(Message.text_enc).where(Message.id == ident))
        assert token is not None
        return cipher.decrypt(token)


async def test_text_is_unreadable_in_the_raw_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    cipher = DataCipher([Fernet.generate_key()])
    ident = await store_message(session_factory(engine), cipher)
    assert await read_message(session_factory(engine), cipher, ident) == SECRET_TEXT
    await engine.dispose()
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.iterdir()))  # noqa: ASYNC240
    assert SECRET_TEXT.encode() not in raw
    assert "昨晚".encode() not in raw
    assert "测试学生".encode() in raw  # the check itself can see plain text when it is there


async def test_rotation_re_encrypts_and_old_key_can_be_dropped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    ident = await store_message(sessions, DataCipher([old_key]))
    both = DataCipher([new_key, old_key])
    assert await read_message(sessions, both, ident) == SECRET_TEXT
    assert await rotate_all(sessions, both) == 1
    assert await rotate_all(sessions, both) == 0  # idempotent
    only_new = DataCipher([new_key])
    assert await read_message(sessions, only_new, ident) == SECRET_TEXT
    with pytest.raises(InvalidToken):
        await read_message(sessions, DataCipher([old_key]), ident)


def test_generated_key_only_when_allowed(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "data.key"
    with pytest.raises(DataKeyError, match="HEARTGUARD_DATA_KEY is not set"):
        load_cipher([], key_file=key_file, allow_generated=False)
    first = load_cipher([], key_file=key_file, allow_generated=True)
    again = load_cipher([], key_file=key_file, allow_generated=True)
    assert again.decrypt(first.encrypt("x")) == "x"
    assert key_file.stat().st_mode & 0o077 == 0


def test_malformed_key_is_a_clear_error() -> None:
    with pytest.raises(DataKeyError, match="Fernet keys"):
        DataCipher(["not-a-key"])
