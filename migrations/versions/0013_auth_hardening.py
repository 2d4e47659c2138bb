"""grant families, spent codes, server-side web sessions, escalating voice code locks

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

Existing rows are backfilled: each existing token becomes a family of its own that
started when it was issued (so the refresh token lifetime counts from its last
rotation, the best that is known); each unspent code its own family, with its
redirect URI treated as named (the stricter reading). Signed-in browsers sign in once
more: their cookies name no server-side session.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

codes = sa.table("oauth_codes", sa.column("id", sa.Integer()),
                 sa.column("family_id", sa.String(32)),
                 sa.column("redirect_uri_named", sa.Boolean()))  # fmt: skip
tokens = sa.table("oauth_tokens", sa.column("id", sa.Integer()),
                  sa.column("family_id", sa.String(32)),
                  sa.column("issued_at", sa.DateTime(timezone=True)),
                  sa.column("family_started_at", sa.DateTime(timezone=True)))  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("voice_code_lockouts", sa.Integer(), nullable=False,
                                   server_default="0"))  # fmt: skip

    with op.batch_alter_table("oauth_codes") as batch:
        batch.add_column(sa.Column("redirect_uri_named", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("family_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(codes.update().values(
        family_id=sa.literal("code-") + sa.cast(codes.c.id, sa.String(20)),
        redirect_uri_named=sa.true()))  # fmt: skip
    with op.batch_alter_table("oauth_codes") as batch:
        batch.alter_column("redirect_uri_named", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("family_id", existing_type=sa.String(32), nullable=False)

    with op.batch_alter_table("oauth_tokens") as batch:
        batch.add_column(sa.Column("family_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("family_started_at", sa.DateTime(timezone=True),
                                   nullable=True))  # fmt: skip
    op.execute(tokens.update().values(
        family_id=sa.literal("token-") + sa.cast(tokens.c.id, sa.String(20)),
        family_started_at=tokens.c.issued_at))  # fmt: skip
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.alter_column("family_id", existing_type=sa.String(32), nullable=False)
        batch.alter_column("family_started_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)  # fmt: skip
        batch.create_index("ix_oauth_tokens_family", ["family_id"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_web_sessions_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index("ix_web_sessions_customer", "web_sessions", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_customer", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("oauth_tokens") as batch:
        batch.drop_index("ix_oauth_tokens_family")
        batch.drop_column("family_started_at")
        batch.drop_column("family_id")
    # Spent codes were deleted before this revision: drop them rather than let them
    # look unused again.
    op.execute(sa.text("DELETE FROM oauth_codes WHERE used_at IS NOT NULL"))
    with op.batch_alter_table("oauth_codes") as batch:
        batch.drop_column("used_at")
        batch.drop_column("family_id")
        batch.drop_column("redirect_uri_named")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("voice_code_lockouts")
