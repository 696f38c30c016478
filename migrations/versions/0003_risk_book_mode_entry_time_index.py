"""Composite index for the /stats query: one mode's records over the last 7/30 days.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_risk_book_mode_entry_time", "risk_book", ["mode", "entry_time"])


def downgrade() -> None:
    op.drop_index("ix_risk_book_mode_entry_time", table_name="risk_book")
