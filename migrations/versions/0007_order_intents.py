"""Order intents recorded before the order is sent (issue 20).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_MODE_CHECK = "mode IN ('dryrun', 'live', 'backtest', 'demo')"


def upgrade() -> None:
    op.create_table(
        "order_intents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("volume", sa.Double, nullable=False),
        sa.Column("sl", sa.Double, nullable=False),
        sa.Column("tp", sa.Double, nullable=True),
        sa.Column("entry_hint", sa.Double, nullable=True),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("position_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_order_intents_status_known"),
        sa.CheckConstraint(_MODE_CHECK, name="ck_order_intents_mode_known"),
        sa.PrimaryKeyConstraint("id", name="pk_order_intents"),
        sa.UniqueConstraint("client_order_id", name="uq_order_intents_client_order_id"),
    )
    op.create_index("ix_order_intents_status_mode", "order_intents", ["status", "mode"])


def downgrade() -> None:
    op.drop_index("ix_order_intents_status_mode", table_name="order_intents")
    op.drop_table("order_intents")
