"""The `replay` mode: every mode column's CHECK also accepts 'replay', and rows written by replays
before this revision (under 'dryrun', told apart by their replay signal ids `r<hex>-...`) move to it,
so a dry-run's reconciliation, outcome tracking and reports never see them.

block_log rows carry no signal id: a replay's old blocks cannot be told apart and stay 'dryrun'
(nothing reconciles or restores blocks). Downgrade moves 'replay' rows back to 'dryrun' (what
they were recorded under before), then narrows the checks again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD = ("dryrun", "live", "backtest", "demo")
_NEW = (*_OLD, "replay")
_MODE_TABLES = ("risk_book", "signal_log", "block_log", "order_intents")
# The tables whose rows carry a replay's signal id, and its column.
_ID_COLUMNS = (("risk_book", "signal_id"), ("signal_log", "signal_id"), ("order_intents", "client_order_id"))
# composition.containers.replay_run_prefix: "r" + wall-clock ms in hex + "-"; a dry-run's ids
# start with the pair ("BTCUSDT-...").
_REPLAY_ID = re.compile(r"^r[0-9a-f]{8,16}-")


def _check(modes: tuple[str, ...]) -> str:
    return "mode IN (" + ", ".join(f"'{m}'" for m in modes) + ")"


def _set_checks(modes: tuple[str, ...]) -> None:
    for table in _MODE_TABLES:
        # SQLite rebuilds the table (batch), reflecting its other CHECKs; PostgreSQL alters in place.
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_mode_known", type_="check")
            batch.create_check_constraint(f"ck_{table}_mode_known", sa.text(_check(modes)))


def _retag(source: str, target: str, only_replay_ids: bool) -> None:
    conn = op.get_bind()
    for name, column in _ID_COLUMNS:
        table = sa.table(name, sa.column(column, sa.String), sa.column("mode", sa.String))
        ids = [row[0] for row in conn.execute(sa.select(table.c[column]).where(table.c.mode == source))]
        if only_replay_ids:
            ids = [i for i in ids if _REPLAY_ID.match(i)]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(sa.update(table).where(table.c[column].in_(chunk)).values(mode=target))


def upgrade() -> None:
    _set_checks(_NEW)
    _retag("dryrun", "replay", only_replay_ids=True)


def downgrade() -> None:
    conn = op.get_bind()
    _retag("replay", "dryrun", only_replay_ids=False)
    conn.execute(sa.text("UPDATE block_log SET mode = 'dryrun' WHERE mode = 'replay'"))
    _set_checks(_OLD)
