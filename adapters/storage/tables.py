"""The relational schema: SQLAlchemy Core tables shared by SQLite and PostgreSQL.

Times are integer epoch milliseconds (UTC), the unit the domain uses, so both engines compare and
index them identically with no timezone conversion. Column names follow the work plan
(`entry_time`, `deployed_at`, ...). The migrations in `migrations/versions/` create exactly these
tables; `tests/integration/storage` checks that they do not drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

from domain.signals import Mode

# Stable constraint names so alembic can drop/alter them on both engines.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

# Every mode column accepts exactly the values of domain.signals.Mode (migration 0008 added `replay`):
# a typo can never be stored, and a replay's rows are told apart from a dry-run's by the database.
MODES = tuple(m.value for m in Mode)
_MODE_CHECK = "mode IN (" + ", ".join(f"'{m}'" for m in MODES) + ")"

patterns = sa.Table(
    "patterns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("pattern_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("wins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.CheckConstraint("wins >= 0 AND wins <= total", name="wins_within_total"),
    # Win rates above the sample floor filter on total.
    sa.Index(None, "total"),
)

risk_book = sa.Table(
    "risk_book",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("signal_id", sa.String(128), nullable=False, unique=True),
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
    # Every model of the ensemble, comma-joined ("lstm:v3,transformer:v3").
    sa.Column("model_version", sa.String(255), nullable=False, server_default=""),
    sa.Column("session", sa.String(32), nullable=False, server_default=""),
    sa.CheckConstraint("result IS NULL OR result IN ('W', 'L')", name="result_w_l"),
    sa.CheckConstraint(_MODE_CHECK, name="mode_known"),
    sa.Index(None, "entry_time"),
    sa.Index(None, "pair"),
    sa.Index(None, "mode"),
    # Accuracy by model version groups on it.
    sa.Index(None, "model_version"),
    # /stats: one mode over the last 7/30 days (migration 0003).
    sa.Index(None, "mode", "entry_time"),
)

model_deployments = sa.Table(
    "model_deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("model_path", sa.String(1024), nullable=False),
    sa.Column("deployed_at", sa.BigInteger, nullable=False),
    sa.Column("metrics_json", sa.Text, nullable=False, server_default="{}"),
    sa.Column("rollback_reason", sa.Text, nullable=True),
    sa.Index(None, "version"),
    sa.Index(None, "deployed_at"),
)

# The outbox: a signal is written here (pending) in the same transaction as its risk-book row,
# before any notification goes out, then marked sent.
signal_log = sa.Table(
    "signal_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("signal_id", sa.String(128), nullable=False, unique=True),
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
    sa.CheckConstraint("status IN ('pending', 'sent')", name="status_known"),
    sa.CheckConstraint(_MODE_CHECK, name="mode_known"),
    sa.Index(None, "created_at"),
    sa.Index(None, "status"),
)

block_log = sa.Table(
    "block_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pair", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.String(8), nullable=False),
    sa.Column("confidence", sa.Double, nullable=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.CheckConstraint(_MODE_CHECK, name="mode_known"),
    sa.Index(None, "at"),
)

# Small key/value store for runtime state that must survive a restart (policy state, last scan).
runtime_state = sa.Table(
    "runtime_state",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# The FTMO ledger (domain.ftmo.FtmoState) per namespace and mode, saved after every cycle and restored at
# start, so a restart never changes a floor, the trading days, the trailing floor or the best day.
ftmo_ledger = sa.Table(
    "ftmo_ledger",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),  # "<namespace>:<mode>"
    sa.Column("day_start_ms", sa.BigInteger, nullable=False),
    sa.Column("day_start_balance", sa.Double, nullable=False),
    sa.Column("day_start_equity", sa.Double, nullable=True),
    sa.Column("max_eod_balance", sa.Double, nullable=False),
    sa.Column("trading_days", sa.Text, nullable=False),  # JSON list of Prague day numbers
    sa.Column("day_profits", sa.Text, nullable=False),  # JSON [[prague day, closed P&L], ...]
    sa.Column("last_ms", sa.BigInteger, nullable=True),
    sa.Column("last_balance", sa.Double, nullable=True),
    sa.Column("in_breach", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

# Orders recorded before they are sent (domain.order_intent): pending -> sent | failed. A pending
# intent left by a crash is resolved against the broker at the next start.
order_intents = sa.Table(
    "order_intents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_order_id", sa.String(128), nullable=False, unique=True),
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
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
    sa.CheckConstraint(_MODE_CHECK, name="mode_known"),
    sa.Index(None, "status", "mode"),
)

# Scored posts of the sentiment sources (plugins/sentiment), one row per (source, post, pair), so a
# replay or a backtest scores from what live saw.
sentiment_posts = sa.Table(
    "sentiment_posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("post_id", sa.String(128), nullable=False),
    sa.Column("pair", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("score", sa.Double, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("fetched_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("source", "post_id", "pair"),
    sa.CheckConstraint("score >= -1 AND score <= 1", name="score_in_range"),
    sa.Index(None, "pair", "created_at"),
)

# The rolling score (mean over the window) and coverage each cycle used, per pair and source.
sentiment_scores = sa.Table(
    "sentiment_scores",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("pair", sa.String(32), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("score", sa.Double, nullable=True),
    sa.Column("coverage", sa.Integer, nullable=False),
    sa.Column("window_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("pair", "at", "source"),
)

# Tables whose dry-run rows are archived after the retention period, with their time column.
ARCHIVABLE: dict[str, str] = {"risk_book": "entry_time", "signal_log": "created_at", "block_log": "at"}
