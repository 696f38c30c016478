"""Signal outbox (pending -> sent), block log and runtime key/value state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MODE_CHECK = "mode IN ('dryrun', 'live', 'backtest', 'demo')"


def upgrade() -> None:
    op.create_table(
        "signal_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("signal_id", sa.String(64), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Double, nullable=False),
        sa.Column("entry", sa.Double, nullable=False),
        sa.Column("tp", sa.Double, nullable=False),
        sa.Column("sl", sa.Double, nullable=False),
        sa.Column("rr", sa.Double, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("model_versions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("reasons", sa.Text, nullable=False, server_default="[]"),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="pending"),
        sa.Column("sent_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="ck_signal_log_status_known"),
        sa.CheckConstraint(_MODE_CHECK, name="ck_signal_log_mode_known"),
        sa.PrimaryKeyConstraint("id", name="pk_signal_log"),
        sa.UniqueConstraint("signal_id", name="uq_signal_log_signal_id"),
    )
    op.create_index("ix_signal_log_created_at", "signal_log", ["created_at"])
    op.create_index("ix_signal_log_status", "signal_log", ["status"])

    op.create_table(
        "block_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Double, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.CheckConstraint(_MODE_CHECK, name="ck_block_log_mode_known"),
        sa.PrimaryKeyConstraint("id", name="pk_block_log"),
    )
    op.create_index("ix_block_log_at", "block_log", ["at"])

    op.create_table(
        "runtime_state",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_runtime_state"),
    )


def downgrade() -> None:
    op.drop_table("runtime_state")
    op.drop_table("block_log")
    op.drop_table("signal_log")
