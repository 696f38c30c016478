"""The FTMO ledger (issue 13): balance and equity at the last Prague midnight, highest end-of-day
balance, trading days, daily closed P&L, breach episode.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ftmo_ledger",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("day_start_ms", sa.BigInteger, nullable=False),
        sa.Column("day_start_balance", sa.Double, nullable=False),
        sa.Column("day_start_equity", sa.Double, nullable=True),
        sa.Column("max_eod_balance", sa.Double, nullable=False),
        sa.Column("trading_days", sa.Text, nullable=False),
        sa.Column("day_profits", sa.Text, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=True),
        sa.Column("last_balance", sa.Double, nullable=True),
        sa.Column("in_breach", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_ftmo_ledger"),
    )


def downgrade() -> None:
    op.drop_table("ftmo_ledger")
