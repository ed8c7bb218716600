"""Alembic, driven from code: the only way the schema is created or changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.crypto import DataCipher
from storage.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, target: str, cipher: DataCipher | None) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    # A migration that encrypts existing plaintext (0006: counselor notes) needs the key.
    config.attributes["cipher"] = cipher
    command.upgrade(config, target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, Base.metadata))


async def upgrade(
    engine: AsyncEngine, target: str = "head", *, cipher: DataCipher | None = None
) -> None:
    """Migrate the database to ``target``; a no-op when it is already there.

    ``cipher``: the data key, for migrations that encrypt what was stored in plaintext.
    """
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, target, cipher)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """Differences between the ORM models and the migrated database (empty means none)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)
