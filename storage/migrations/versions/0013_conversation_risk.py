"""conversation risk: the detector's per-conversation state, encrypted

Revision ID: 0013
Revises: 0006
Create Date: 2026-12-07 03:30:00

``conversations.risk_state_enc``: what the detector keeps of a student's recent messages
(cue classes, levels, times; never their text), so that risk builds across messages and
earlier messages are never analysed again. Encrypted like the conversation itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_state_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("risk_state_enc")
