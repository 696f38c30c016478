"""Backup and restore round trips on real SQLite and PostgreSQL: tables come back row-for-row equal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.storage import backup as backups
from adapters.storage.engine import create_engine_for
from adapters.storage.tables import metadata, runtime_state
from adapters.storage.unit_of_work import SqlStorage
from domain.deployment import Deployment
from domain.errors import UserError
from domain.risk_book import PatternStat, TradeRecord
from domain.signals import Block, BlockReason, Direction, Mode, Signal, Tier

ROOT = Path(__file__).resolve().parents[3]


def _populate(url: str, n: int = 25) -> None:
    s = SqlStorage.open(url, now_ms=lambda: 1_700_000_000_000)
    for i in range(n):
        sid = f"bk-{i:03d}"
        sig = Signal(
            sid,
            "ETH/USDT",
            Direction.SHORT if i % 2 else Direction.LONG,
            Tier.MEDIUM,
            0.61 + i / 1000,
            100.0,
            90.0 if i % 2 else 110.0,
            105.0 if i % 2 else 95.0,
            2.0,
            1_000 * i,
            ("v1", "v2"),
            ("why", "é ünïcode"),
            Mode.LIVE if i % 3 == 0 else Mode.DRYRUN,
        )
        rec = TradeRecord(
            sid,
            "ETH/USDT",
            Tier.MEDIUM,
            1_000 * i,
            100.0,
            sig.tp,
            sig.sl,
            2.0,
            mode=sig.mode,
            spread_bps=1.0 / (i + 3),
            model_version="v1",
            session="tokyo",
        )
        with s.unit_of_work() as uow:
            uow.signal_log.log_signal(sig)
            uow.risk_book.add(rec.close(1_000 * i + 60_000, 104.2) if i % 2 == 0 else rec)
            uow.commit()
        if i % 4 == 0:
            s.signal_log.mark_sent(sid)
        s.signal_log.log_block(Block("BTC/USDT", BlockReason.RATE_LIMIT, f"cap {i}", 1_000 * i, Tier.LOW, 0.56))
        s.patterns.record_outcome(f"p{i % 5}", f"hash{i % 5}", i % 3 == 0)
    s.deployments.record(Deployment("v1", "/models/v1.pt", 5, '{"acc": 0.69}'))
    s.deployments.record(Deployment("v2", "/models/v2.pt", 9))
    s.deployments.mark_rolled_back("v2", "calibration error 6%")
    with s.engine.begin() as conn:
        conn.execute(runtime_state.insert().values(key="runtime:dryrun", value='{"v":1}', updated_at=7))
    s.close()


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            out = {
                t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in metadata.sorted_tables
            }
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            out["alembic_version"] = [tuple(r) for r in version]
            return out
    finally:
        engine.dispose()


def _mutate(url: str) -> None:
    _populate_extra = SqlStorage.open(url)
    _populate_extra.risk_book.update(
        TradeRecord("bk-001", "ETH/USDT", Tier.MEDIUM, 1_000, 100.0, 90.0, 105.0, 2.0).close(9_000, 91.0)
    )
    _populate_extra.patterns.upsert(PatternStat("p0", "hash0", 0, 99))
    _populate_extra.signal_log.mark_sent("bk-002")
    _populate_extra.close()
    engine = create_engine_for(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM block_log WHERE id % 2 = 0"))
        conn.execute(sa.text("DELETE FROM model_deployments"))
    engine.dispose()


def test_backup_restore_round_trip_is_row_for_row_equal(db_url: str, tmp_path: Path) -> None:
    _populate(db_url)
    before = _snapshot(db_url)
    assert len(before["risk_book"]) == 25 and len(before["block_log"]) == 25
    file = backups.backup(db_url, tmp_path / "backups")
    assert file.is_file() and file.parent == tmp_path / "backups"

    _mutate(db_url)
    assert _snapshot(db_url) != before, "the mutation must change the database for the test to mean anything"

    backups.restore(db_url, file)
    assert _snapshot(db_url) == before
    # The restored database is usable by the app.
    s = SqlStorage.open(db_url)
    assert s.risk_book.get("bk-001") is not None and s.risk_book.get("bk-001").result is None  # type: ignore[union-attr]
    s.close()


def test_restore_refuses_a_file_of_the_wrong_kind(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(UserError, match="not a"):
        backups.restore(db_url, junk)
    with pytest.raises(UserError, match="does not exist"):
        backups.restore(db_url, tmp_path / "missing.sqlite3")


def test_backup_script_then_cli_restore_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.storage import migrate

    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrate.upgrade(url)
    _populate(url, n=5)
    before = _snapshot(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_AI", "BACKUP_"))}
    env.update(
        DATABASE_URL=url,
        BACKUP_DIR=str(tmp_path / "bk"),
        PYTHONPATH=str(ROOT),
        TRADING_AI=str(ROOT / ".venv" / "bin" / "trading-ai"),
    )
    res = subprocess.run(
        ["bash", str(ROOT / "infra" / "scripts" / "backup_db.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    files = sorted((tmp_path / "bk").glob("trading_ai-*.sqlite3"))
    assert len(files) == 1 and f"backup: {files[0]}" in res.stdout
    assert "uploaded" not in res.stdout  # no S3 unless BACKUP_S3_URI is set

    _mutate(url)
    from composition.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADING_AI_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main(["db", "restore", str(files[0])]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["db", "restore", str(files[0]), "--yes"]) == 0
    assert "previous database saved to" in capsys.readouterr().out
    assert _snapshot(url) == before
