"""Risk book, patterns and model deployments.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_MODE_CHECK = "mode IN ('dryrun', 'live', 'backtest', 'demo')"


def upgrade() -> None:
    op.create_table(
        "patterns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("pattern_hash", sa.String(128), nullable=False),
        sa.Column("wins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("wins >= 0 AND wins <= total", name="ck_patterns_wins_within_total"),
        sa.PrimaryKeyConstraint("id", name="pk_patterns"),
        sa.UniqueConstraint("pattern_hash", name="uq_patterns_pattern_hash"),
    )
    op.create_index("ix_patterns_total", "patterns", ["total"])

    op.create_table(
        "risk_book",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("signal_id", sa.String(64), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("entry_time", sa.BigInteger, nullable=False),
        sa.Column("entry_price", sa.Double, nullable=False),
        sa.Column("tp_price", sa.Double, nullable=False),
        sa.Column("sl_price", sa.Double, nullable=False),
        sa.Column("rr_expected", sa.Double, nullable=False),
        sa.Column("result", sa.String(1), nullable=True),
        sa.Column("exit_time", sa.BigInteger, nullable=True),
        sa.Column("exit_price", sa.Double, nullable=True),
        sa.Column("r_realized", sa.Double, nullable=True),
        sa.Column("time_to_tp_sl_seconds", sa.Double, nullable=True),
        sa.Column("slippage_bps", sa.Double, nullable=True),
        sa.Column("slippage_expected_bps", sa.Double, nullable=True),
        sa.Column("spread_bps", sa.Double, nullable=True),
        sa.Column("latency_ms", sa.Double, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False, server_default=""),
        sa.Column("session", sa.String(32), nullable=False, server_default=""),
        sa.CheckConstraint("result IS NULL OR result IN ('W', 'L')", name="ck_risk_book_result_w_l"),
        sa.CheckConstraint(_MODE_CHECK, name="ck_risk_book_mode_known"),
        sa.PrimaryKeyConstraint("id", name="pk_risk_book"),
        sa.UniqueConstraint("signal_id", name="uq_risk_book_signal_id"),
    )
    for col in ("entry_time", "pair", "mode", "model_version"):
        op.create_index(f"ix_risk_book_{col}", "risk_book", [col])

    op.create_table(
        "model_deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("model_path", sa.String(1024), nullable=False),
        sa.Column("deployed_at", sa.BigInteger, nullable=False),
        sa.Column("metrics_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("rollback_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_deployments"),
    )
    op.create_index("ix_model_deployments_version", "model_deployments", ["version"])
    op.create_index("ix_model_deployments_deployed_at", "model_deployments", ["deployed_at"])


def downgrade() -> None:
    op.drop_table("model_deployments")
    op.drop_table("risk_book")
    op.drop_table("patterns")
