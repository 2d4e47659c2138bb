"""customer delivery address

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('address', sa.String(length=300), nullable=True))
    op.execute("UPDATE customers SET address = '12 Market Street' "
               "WHERE email = 'demo@voicecart.example' AND address IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('address')
