"""web chat and WeChat: sessions, stored outbound lines, WeChat receipts and windows

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("extra_enc", sa.LargeBinary(), nullable=True))
        # ix_messages_student_id_id (a page reads one student's lines by id) came with 0007.

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "wechat_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msg_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_receipts")),
        sa.UniqueConstraint("msg_key", name=op.f("uq_wechat_receipts_msg_key")),
    )
    with op.batch_alter_table("wechat_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wechat_receipts_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "wechat_windows",
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_since", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["student_channels.id"],
            name=op.f("fk_wechat_windows_identity_id_student_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_wechat_windows")),
    )


def downgrade() -> None:
    op.drop_table("wechat_windows")
    with op.batch_alter_table("wechat_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wechat_receipts_created_at"))
    op.drop_table("wechat_receipts")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_expires_at")
    op.drop_table("web_sessions")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("extra_enc")
        batch_op.drop_column("sender")
