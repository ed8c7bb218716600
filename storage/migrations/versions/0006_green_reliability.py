"""green channel reliability: per-case failures, intake retries, encrypted notes, key checks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00

Counselor notes move out of ``case_events.details`` (plaintext JSON) into ``note_enc``
(Fernet, like messages). The data cipher comes from ``heartguard db upgrade`` (through the
Alembic config's attributes): a database holding plaintext notes is never left half-done, so
without a cipher the upgrade refuses instead of leaving them readable.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0012"
branch_labels = None
depends_on = None

_events = sa.table(
    "case_events",
    sa.column("id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("note_enc", sa.LargeBinary()),
)


def _cipher() -> Any:
    return context.config.attributes.get("cipher")


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("step_failures", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=64), nullable=True))
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note_enc", sa.LargeBinary(), nullable=True))
    op.create_table(
        "data_key_checks",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_data_key_checks")),
    )
    _encrypt_notes()


def _encrypt_notes() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_events.c.id, _events.c.details).where(_events.c.action == "note")
    ).all()
    plain = [(ident, dict(details)) for ident, details in rows if "note" in (details or {})]
    if not plain:
        return
    cipher = _cipher()
    if cipher is None:
        raise RuntimeError(
            f"{len(plain)} counselor note(s) are stored as plaintext: run `heartguard db upgrade` "
            "with HEARTGUARD_DATA_KEY set, so they are encrypted"
        )
    for ident, details in plain:
        text = str(details.pop("note"))
        bind.execute(
            sa.update(_events)
            .where(_events.c.id == ident)
            .values(details=details, note_enc=cipher.encrypt(text))
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_events.c.id, _events.c.details, _events.c.note_enc).where(
            _events.c.note_enc.is_not(None)
        )
    ).all()
    if rows:
        cipher = _cipher()
        if cipher is None:
            raise RuntimeError("encrypted notes need HEARTGUARD_DATA_KEY to be downgraded")
        for ident, details, token in rows:
            restored = {**(details or {}), "note": cipher.decrypt(token)}
            bind.execute(sa.update(_events).where(_events.c.id == ident).values(details=restored))
    op.drop_table("data_key_checks")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("note_enc")
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("step_failures")
