"""phq-a answers in phq-9 order

PHQ-A asks items 1 and 2, and 4 and 5, the other way round from the PHQ-9. Check-ins stored
the answers as asked under the label ``phq9`` (and ``phq2``), so for every student who was
asked the PHQ-A wording (under 18 when answering, or of unknown age) item 1 held "feeling
down" and item 4 "appetite". This puts those rows in the PHQ-9's canonical order, which is
what the flows store from now on. Data only; no schema change.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The age the flows used to choose the wording: birth year + 1 (the conservative guess).
_ADULT_AGE = 18
# PHQ-A item n (1-based) asks PHQ-9 item _PHQA_TO_PHQ9[n - 1]; the swap is its own inverse.
_PHQA_TO_PHQ9 = (2, 1, 3, 5, 4, 6, 7, 8, 9)

_results = sa.table(
    "checkin_results",
    sa.column("id", sa.Integer()),
    sa.column("student_id", sa.Integer()),
    sa.column("instrument", sa.String()),
    sa.column("answers", sa.JSON()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_students = sa.table("students", sa.column("id", sa.Integer()), sa.column("birth_year", sa.Integer()))


def _asked_phq_a(birth_year: int | None, at: datetime) -> bool:
    return birth_year is None or at.year - birth_year - 1 < _ADULT_AGE


def _reordered(answers: list[Any]) -> list[Any]:
    ordered = list(answers)
    for asked, item in enumerate(_PHQA_TO_PHQ9[: len(answers)]):
        ordered[item - 1] = answers[asked]
    return ordered


def _swap_phq_a_rows() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            _results.c.id, _results.c.answers, _results.c.created_at, _students.c.birth_year
        )
        .select_from(_results.join(_students, _students.c.id == _results.c.student_id))
        .where(_results.c.instrument.in_(("phq9", "phq2")))
    ).all()
    for row_id, answers, created_at, birth_year in rows:
        if isinstance(answers, list) and _asked_phq_a(birth_year, created_at):
            bind.execute(
                sa.update(_results)
                .where(_results.c.id == row_id)
                .values(answers=_reordered(answers))
            )


def upgrade() -> None:
    _swap_phq_a_rows()


def downgrade() -> None:
    # The swap is its own inverse, but rows written after the upgrade are already canonical
    # and cannot be told apart from old ones: leave the data as it is.
    pass
