"""No student text in debug logs: a real `heartguard --debug chat --jsonl` process, scanned.

`heartguard --debug run` against the Telegram emulator is scanned the same way in
tests/e2e/test_debug_logs_e2e.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import School, Student

SENTENCE = "紫藤花下的秘密暗号是蓝色长颈鹿"
PHONE = "13912345678"
NAME = "欧阳小星"
NOW = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.e2e
def test_debug_chat_writes_no_student_text(cli_env: Path) -> None:
    lines = [
        {"from": "debug-kid", "text": f"我叫{NAME}，电话{PHONE}，{SENTENCE}"},
        {"from": "debug-kid", "command": f"/talk {SENTENCE}"},
        {"from": "debug-kid", "text": f"{SENTENCE}，我今晚就去跳楼，药已经准备好了"},
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--debug", "chat", "--jsonl"],
        input="".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        + "[" * 5000  # garbage last: its error line must not echo anything either
        + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        cwd=cli_env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, (done.returncode, done.stdout[-1500:], done.stderr[-800:])
    assert "DEBUG" in done.stderr  # debug logging really was on
    assert "case_requested" in done.stdout  # the crisis went through
    for secret in (SENTENCE, PHONE, NAME, "跳楼"):
        assert secret not in done.stderr
        assert secret not in done.stdout


async def add_twice(sessions: async_sessionmaker[AsyncSession], school_id: int) -> None:
    """One student number twice in a school: refused by the database."""
    async with sessions.begin() as session:
        for _ in range(2):
            session.add(
                Student(
                    school_id=school_id, student_number=PHONE, display_name=NAME, created_at=NOW
                )
            )
            await session.flush()


async def test_a_database_error_carries_no_values(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """What log.exception and --debug print of a failed statement: the SQL, never the values."""
    async with sessions.begin() as session:
        school = School(code="L01", name="日志中学", created_at=NOW)
        session.add(school)
    with pytest.raises(IntegrityError) as failed:
        await add_twice(sessions, school.id)
    text = str(failed.value)
    assert "INSERT INTO students" in text
    assert PHONE not in text
    assert NAME not in text
