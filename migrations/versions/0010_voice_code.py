"""customer voice code

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('voice_code_hash', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('voice_code_failures', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('voice_code_failed_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('voice_code_locked_until', sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('voice_code_locked_until')
        batch.drop_column('voice_code_failed_at')
        batch.drop_column('voice_code_failures')
        batch.drop_column('voice_code_hash')
