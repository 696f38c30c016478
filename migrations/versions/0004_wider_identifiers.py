"""Wider identifier columns: the risk book's model_version joins every model of the ensemble
("lstm:v1.2.0-...,transformer:v1.2.0-..."), which outgrew VARCHAR(64) on PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WIDER = (("risk_book", "model_version", 64, 255), ("risk_book", "signal_id", 64, 128),
          ("signal_log", "signal_id", 64, 128), ("model_deployments", "version", 64, 128))


def upgrade() -> None:
    for table, column, old, new in _WIDER:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(new), existing_type=sa.String(old), existing_nullable=False)


def downgrade() -> None:
    # Narrowing fails on PostgreSQL if longer values exist: that is wanted, it would lose data.
    for table, column, old, new in reversed(_WIDER):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(old), existing_type=sa.String(new), existing_nullable=False)
