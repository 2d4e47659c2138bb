"""exactly-once: claims (Alexa requests, order keys) and an idempotency key on orders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claims',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_claims'))
    )
    op.create_index(op.f('ix_claims_created_at'), 'claims', ['created_at'], unique=False)
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch.create_index('ix_orders_idempotency_key', ['idempotency_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_index('ix_orders_idempotency_key')
        batch.drop_column('idempotency_key')
    op.drop_index(op.f('ix_claims_created_at'), table_name='claims')
    op.drop_table('claims')
