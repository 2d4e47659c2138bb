"""order charges: item subtotal, tax and delivery beside the total

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('subtotal_cents', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('tax_cents', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('delivery_cents', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE orders SET subtotal_cents = total_cents")  # earlier orders had no charges
    with op.batch_alter_table('orders') as batch:
        batch.alter_column('subtotal_cents', server_default=None)
        batch.alter_column('tax_cents', server_default=None)
        batch.alter_column('delivery_cents', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('delivery_cents')
        batch.drop_column('tax_cents')
        batch.drop_column('subtotal_cents')
