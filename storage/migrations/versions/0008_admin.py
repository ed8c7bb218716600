"""admin: where a student's language came from

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07 02:00:00

``students.language_source``: NULL while nothing has decided the student's language, "detected"
once the script of their first message with letters did, "chosen" once they picked one. A
student who went through onboarding (its first question is the language) has chosen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_source", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE students SET language_source = 'chosen' WHERE onboarded OR language <> 'zh'"
    )


def downgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_column("language_source")
