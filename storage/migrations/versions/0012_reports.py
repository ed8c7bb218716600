"""reports: check-in starts, counselor marks on alerts, weekly report deliveries, week indexes

Revision ID: 0012
Revises: 0005 (chained after 0008 on this branch; the lead re-chains on merge)
Create Date: 2026-12-15 09:00:00

- ``checkin_starts``: a student entered the weekly check-in (the reports' "started").
- ``alert_marks``: a counselor's "confirmed" or "false_alarm" on a case's alert, with the
  detector's level, categories and version copied in (feedback for tuning the detector).
- ``report_deliveries``: one row per scope and ISO week, the claim that lets several
  processes send each Monday's reports once; the console shows them as notices.
- Indexes on ``checkin_results.created_at`` and ``risk_assessments.created_at``: a report
  reads one week of the whole district.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkin_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_checkin_starts_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_starts")),
    )
    with op.batch_alter_table("checkin_starts", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_starts_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_checkin_starts_student_id"), ["student_id"], unique=False
        )
    op.create_table(
        "alert_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("counselor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("mark", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("detector_version", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_alert_marks_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["risk_assessments.id"],
            name=op.f("fk_alert_marks_assessment_id_risk_assessments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["counselors.id"],
            name=op.f("fk_alert_marks_counselor_id_counselors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_marks")),
        sa.UniqueConstraint("case_id", name=op.f("uq_alert_marks_case_id")),
    )
    with op.batch_alter_table("alert_marks", schema=None) as batch_op:
        batch_op.create_index("ix_alert_marks_created_at", ["created_at"], unique=False)
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint("scope", "week", name=op.f("uq_report_deliveries_scope_week")),
    )
    with op.batch_alter_table("checkin_results", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_results_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.create_index("ix_risk_assessments_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_assessments_created_at")
    with op.batch_alter_table("checkin_results", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_results_created_at")
    op.drop_table("report_deliveries")
    op.drop_table("alert_marks")
    op.drop_table("checkin_starts")
