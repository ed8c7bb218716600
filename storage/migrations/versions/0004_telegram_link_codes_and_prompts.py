"""telegram: counselor link codes and prompt tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:11:39.748036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counselor_link_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselors.id'], name=op.f('fk_counselor_link_codes_counselor_id_counselors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselor_link_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_counselor_link_codes_code_hash'))
    )
    with op.batch_alter_table('counselor_link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counselor_link_codes_counselor_id'), ['counselor_id'], unique=False)

    with op.batch_alter_table('counselor_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_counselor_contacts_channel_address', ['channel', 'address'], unique=False)

    with op.batch_alter_table('student_channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt', sa.String(length=16), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('student_channels', schema=None) as batch_op:
        batch_op.drop_column('prompt')

    with op.batch_alter_table('counselor_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_counselor_contacts_channel_address')

    with op.batch_alter_table('counselor_link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counselor_link_codes_counselor_id'))

    op.drop_table('counselor_link_codes')
