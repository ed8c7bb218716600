"""Migration 0006 encrypts counselor notes written in plaintext before it, and refuses to run
without the data key rather than leave them readable. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import DataCipher
from storage.migrate import alembic_config, current_revision, head_revision, upgrade

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
NOTE = "家长电话 13800138000，明早复查"


def _downgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, target)


async def plaintext_note(engine: AsyncEngine) -> None:
    """A case with a note, as 0005 stored it: in the event's JSON details."""
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, "0005")
        student = (
            await conn.execute(
                text(
                    "INSERT INTO students (display_name, status, created_at, language, "
                    "guardian_consent, reminder_opt_in, onboarded, anonymous) "
                    "VALUES ('测试', 'active', :now, 'zh', true, false, true, false) RETURNING id"
                ),
                {"now": NOW},
            )
        ).scalar_one()
        case = (
            await conn.execute(
                text(
                    "INSERT INTO cases (student_id, priority, status, reason, categories, chain, "
                    "step_index, round, token, created_at, updated_at) VALUES (:s, 'urgent', "
                    "'open', 'r', '[]', '{}', 0, 0, 1, :now, :now) RETURNING id"
                ),
                {"s": student, "now": NOW},
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO case_events (case_id, at, actor, action, details) "
                "VALUES (:c, :now, 'counselor:1', 'note', :d)"
            ),
            {"c": case, "now": NOW, "d": '{"note": "' + NOTE + '"}'},
        )


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT details, note_enc FROM case_events WHERE action = 'note'")
        )
        return list(result.all())


async def test_plaintext_notes_are_encrypted_at_upgrade(
    engine: AsyncEngine, cipher: DataCipher
) -> None:
    await plaintext_note(engine)
    try:
        with pytest.raises(RuntimeError, match="stored as plaintext"):
            await upgrade(engine)  # no key: refused, nothing half-done
        assert await current_revision(engine) == "0005"
    finally:
        await upgrade(engine, cipher=cipher)
    assert await current_revision(engine) == head_revision()
    [(details, token)] = await rows(engine)
    assert "13800138000" not in str(details)
    assert cipher.decrypt(bytes(token)) == NOTE
