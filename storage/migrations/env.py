"""Alembic environment: always handed a live connection by storage.migrate."""

from __future__ import annotations

from typing import Literal

from alembic import context

from storage.models import Base, UTCDateTime


def _render_item(kind: str, obj: object, _autogen_context: object) -> str | Literal[False]:
    # Migrations spell the portable type, so they never import application code.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `heartguard db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
