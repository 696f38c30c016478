"""Sentiment posts and scores (issue 15), so backtests replay what live saw.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_posts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("post_id", sa.String(128), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Double, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("fetched_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("score >= -1 AND score <= 1", name="ck_sentiment_posts_score_in_range"),
        sa.PrimaryKeyConstraint("id", name="pk_sentiment_posts"),
        sa.UniqueConstraint("source", "post_id", "pair", name="uq_sentiment_posts_source_post_id_pair"),
    )
    op.create_index("ix_sentiment_posts_pair_created_at", "sentiment_posts", ["pair", "created_at"])
    op.create_table(
        "sentiment_scores",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("score", sa.Double, nullable=True),
        sa.Column("coverage", sa.Integer, nullable=False),
        sa.Column("window_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sentiment_scores"),
        sa.UniqueConstraint("pair", "at", "source", name="uq_sentiment_scores_pair_at_source"),
    )


def downgrade() -> None:
    op.drop_table("sentiment_scores")
    op.drop_index("ix_sentiment_posts_pair_created_at", table_name="sentiment_posts")
    op.drop_table("sentiment_posts")
