"""Retention on real databases: old non-live rows go to parquet and leave; live, open and pending rows stay."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from adapters.storage.retention import archive
from adapters.storage.tables import block_log, risk_book, signal_log
from adapters.storage.unit_of_work import SqlStorage
from domain.deployment import Deployment
from domain.risk_book import TradeRecord
from domain.signals import Block, BlockReason, Direction, Mode, Signal, Tier

DAY = 86_400_000
NOW = 20_000 * DAY


def _emit(s: SqlStorage, sid: str, at: int, mode: Mode, *, closed: bool, sent: bool) -> None:
    sig = Signal(sid, "BTC/USDT", Direction.LONG, Tier.HIGH, 0.7, 100.0, 110.0, 95.0, 2.0, at, ("v1",), (), mode)
    rec = TradeRecord(sid, "BTC/USDT", Tier.HIGH, at, 100.0, 110.0, 95.0, 2.0, mode=mode, spread_bps=1.25)
    with s.unit_of_work() as uow:
        uow.signal_log.log_signal(sig)
        uow.risk_book.add(rec.close(at + 60_000, 110.0) if closed else rec)
        uow.commit()
    if sent:
        s.signal_log.mark_sent(sid)
    s.signal_log.log_block(Block("BTC/USDT", BlockReason.HALTED, sid, at, mode=mode))


def _ids(s: SqlStorage) -> set[str]:
    return {r.signal_id for r in s.risk_book.records()}


def test_archive_moves_only_old_finished_non_live_rows(db_url: str, tmp_path: Path) -> None:
    s = SqlStorage.open(db_url)
    _emit(s, "old-dry", NOW - 100 * DAY, Mode.DRYRUN, closed=True, sent=True)  # archived
    _emit(s, "old-demo", NOW - 95 * DAY, Mode.DEMO, closed=True, sent=True)  # archived
    _emit(s, "old-replay", NOW - 92 * DAY, Mode.REPLAY, closed=True, sent=True)  # archived
    _emit(s, "old-live", NOW - 400 * DAY, Mode.LIVE, closed=True, sent=True)  # live: forever
    _emit(s, "old-open", NOW - 100 * DAY, Mode.DRYRUN, closed=False, sent=False)  # open + pending: kept
    _emit(s, "new-dry", NOW - 10 * DAY, Mode.DRYRUN, closed=True, sent=True)  # recent: kept
    s.deployments.record(Deployment("v1", "/m", NOW - 500 * DAY))
    s.patterns.record_outcome("p", "h", True)
    out = tmp_path / "archive"

    dry = archive(s.engine, now_ms=NOW, out_dir=out, days=90, dry_run=True)
    assert {a.table: a.rows for a in dry} == {"risk_book": 3, "signal_log": 3, "block_log": 4}
    assert not out.exists() and len(_ids(s)) == 6

    report = archive(s.engine, now_ms=NOW, out_dir=out, days=90)
    by_table = {a.table: a for a in report}
    assert {k: a.rows for k, a in by_table.items()} == {"risk_book": 3, "signal_log": 3, "block_log": 4}
    assert _ids(s) == {"old-live", "old-open", "new-dry"}
    assert s.signal_log.status("old-open") == "pending" and s.signal_log.status("old-dry") is None
    assert sorted(b.detail for b in s.signal_log.blocks()) == ["new-dry", "old-live"]
    assert len(s.deployments.history()) == 1 and s.patterns.get("h") is not None

    rb_path = by_table["risk_book"].path
    assert rb_path is not None
    archived = pq.read_table(rb_path).to_pylist()
    assert [(r["signal_id"], r["mode"], r["result"], r["spread_bps"]) for r in archived] == [
        ("old-dry", "dryrun", "W", 1.25),
        ("old-demo", "demo", "W", 1.25),
        ("old-replay", "replay", "W", 1.25),
    ]
    assert set(archived[0]) == {c.name for c in risk_book.columns}
    sl_path = by_table["signal_log"].path
    assert sl_path is not None
    assert {r["signal_id"] for r in pq.read_table(sl_path).to_pylist()} == {"old-dry", "old-demo", "old-replay"}
    bl_path = by_table["block_log"].path
    assert bl_path is not None
    assert set(pq.read_table(bl_path).column_names) == {c.name for c in block_log.columns}

    again = archive(s.engine, now_ms=NOW, out_dir=out, days=90)
    assert all(a.rows == 0 and a.path is None for a in again)
    s.close()


def test_archive_rolls_back_when_the_parquet_cannot_be_written(db_url: str, tmp_path: Path) -> None:
    s = SqlStorage.open(db_url)
    _emit(s, "old", NOW - 200 * DAY, Mode.DRYRUN, closed=True, sent=True)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive directory should be")
    with pytest.raises(OSError):
        archive(s.engine, now_ms=NOW, out_dir=blocker, days=90)
    assert _ids(s) == {"old"}
    with s.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(signal_log)).scalar() == 1
    s.close()
