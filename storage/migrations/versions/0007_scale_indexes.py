"""indexes for a district's year: the message window, reminders, cases and the auditor

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-14 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, index, columns): each serves one hot query (see bench/district.py and
# tests/storage/test_query_plans.py).
INDEXES = (
    ("messages", "ix_messages_student_id_id", ["student_id", "id"]),
    ("cases", "ix_cases_status_closed_at", ["status", "closed_at"]),
    ("cases", "ix_cases_created_at", ["created_at"]),
    ("cases", "ix_cases_student_id", ["student_id"]),
    ("case_events", "ix_case_events_action_at", ["action", "at"]),
    (
        "reminder_deliveries",
        "ix_reminder_deliveries_kind_status_sent",
        ["kind", "status", "sent_at"],
    ),
    (
        "reminder_deliveries",
        "ix_reminder_deliveries_student_kind_status_sent",
        ["student_id", "kind", "status", "sent_at"],
    ),
    ("reminder_deliveries", "ix_reminder_deliveries_status_claimed", ["status", "claimed_at"]),
    ("reminder_deliveries", "ix_reminder_deliveries_slot", ["slot"]),
)


def upgrade() -> None:
    # (kind, status, sent_at) serves everything (kind, status) did.
    op.drop_index("ix_reminder_deliveries_kind_status", table_name="reminder_deliveries")
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index(
        "ix_reminder_deliveries_kind_status", "reminder_deliveries", ["kind", "status"]
    )
