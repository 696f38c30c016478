"""Retention: non-live rows older than the retention period move to parquet, then leave the database.

Live rows are kept forever; patterns and model deployments are kept (small, an audit trail).
Open risk-book records and signals still pending delivery are never archived, whatever their age.
Each table's rows are selected, written to a parquet file (fsynced and read back to check the row
count) and only then deleted, in the same transaction as the selection. A crash after the file is
written but before the delete commits leaves the rows in place: a rerun archives them again, so the
archive may hold a row twice but never loses one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from adapters.storage import tables as t
from adapters.storage.engine import WRITE

MS_PER_DAY = 86_400_000
DEFAULT_RETENTION_DAYS = 90
# Everything except live: dry-run and its demo/backtest/replay relatives.
ARCHIVED_MODES = ("dryrun", "demo", "backtest", "replay")


@attrs.frozen
class ArchivedTable:
    table: str
    rows: int
    path: str | None  # None on a dry run or when nothing was due


def _arrow_type(col: sa.Column[Any]) -> pa.DataType:
    if isinstance(col.type, (sa.BigInteger, sa.Integer)):
        return pa.int64()
    if isinstance(col.type, (sa.Double, sa.Float)):
        return pa.float64()
    return pa.string()


def _due(table: sa.Table, cutoff_ms: int) -> sa.Select[Any]:
    time_col = table.c[t.ARCHIVABLE[table.name]]
    q = sa.select(table).where(time_col < cutoff_ms, table.c.mode.in_(ARCHIVED_MODES)).order_by(table.c.id)
    if table is t.risk_book:
        q = q.where(table.c.result.is_not(None))
    if table is t.signal_log:
        q = q.where(table.c.status == "sent")
    return q


def _write_parquet(table: sa.Table, rows: list[dict[str, Any]], path: Path) -> None:
    schema = pa.schema([pa.field(c.name, _arrow_type(c), nullable=True) for c in table.columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.partial")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    if pq.read_metadata(path).num_rows != len(rows):
        raise OSError(f"archive {path} does not hold the {len(rows)} rows written")


def archive(
    engine: sa.Engine, *, now_ms: int, out_dir: Path, days: int = DEFAULT_RETENTION_DAYS, dry_run: bool = False
) -> list[ArchivedTable]:
    """Archive non-live rows older than `days` days before now_ms to `out_dir/<table>/...parquet`."""
    if days < 1:
        raise ValueError("retention must be at least 1 day")
    cutoff = now_ms - days * MS_PER_DAY
    stamp = f"before-{cutoff}-at-{now_ms}"
    report: list[ArchivedTable] = []
    for name in t.ARCHIVABLE:
        table = t.metadata.tables[name]
        with engine.execution_options(**{WRITE: True}).begin() as conn:
            rows = [dict(m) for m in conn.execute(_due(table, cutoff).with_for_update()).mappings()]
            if dry_run or not rows:
                report.append(ArchivedTable(name, len(rows), None))
                continue
            path = out_dir / name / f"{name}-{stamp}.parquet"
            _write_parquet(table, rows, path)
            ids = [r["id"] for r in rows]
            deleted = 0
            for i in range(0, len(ids), 500):
                deleted += conn.execute(table.delete().where(table.c.id.in_(ids[i : i + 500]))).rowcount
            if deleted != len(ids):
                raise RuntimeError(f"{name}: deleted {deleted} rows but archived {len(ids)}; rolled back")
        report.append(ArchivedTable(name, len(rows), str(path)))
    return report
