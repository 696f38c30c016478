"""A replay records every row under mode `replay` (issue 20), so a dry-run started afterwards on the SAME
database (SQLite and PostgreSQL) reconciles, restores and re-sends none of it: no open trade, no pending
order intent, no runtime state, no FTMO ledger and no pending signal of the replay reaches it.

The replay is the real service over the real 5m candles on the paper broker (orders placed, intents
recorded); the dry-run is the real `build_service` start of a non-replay dry-run (system clock, its own
paper account), with only its candle source swapped for the stored candles (no network here)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dependency_injector import providers

from adapters.storage import migrate
from adapters.storage.engine import create_engine_for
from adapters.storage.ftmo_ledger import SqlFtmoLedgerStore
from adapters.storage.runtime_state import SqlRuntimeStateStore
from composition.candles import cleaned_store
from composition.config import load_config
from composition.containers import RunOptions, RuntimeContainer, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service, lock_name
from composition.runtime.service import serve
from domain.market import Timeframe
from domain.signals import Mode
from tests.integration.storage.migrated import migrated_sqlite_url
from tests.integration.storage.pg import fresh_schema

MODE_TABLES = ("risk_book", "signal_log", "block_log", "order_intents")


@pytest.fixture(autouse=True)
def _restore_logger() -> Iterator[None]:
    yield
    logging.getLogger("trading_ai").handlers.clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield migrated_sqlite_url(tmp_path / "rt.sqlite3")
        return
    with fresh_schema("replaymode") as url:
        migrate.upgrade(url)
        yield url


def _config(tmp: Path, url: str) -> Any:
    env = {"DATABASE_URL": url, "LOG_FORMAT": "json", "DATA_DIR": str(tmp)}
    return load_config(env_file=None, environ=env)


def _options(**kw: Any) -> RunOptions:
    base: dict[str, Any] = dict(
        mode="dryrun",
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=False,
        console_signals=False,
    )
    return RunOptions(**{**base, **kw})


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]


def _modes(url: str) -> dict[str, dict[str, int]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                t: dict(conn.execute(sa.text(f"SELECT mode, count(*) FROM {t} GROUP BY mode")).all())
                for t in MODE_TABLES
            }
    finally:
        engine.dispose()


def _count(url: str, query: str) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def _sql(url: str, statement: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_record_mode_is_replay_for_any_replay_and_the_mode_otherwise() -> None:
    start = parse_date_ms("2025-10-01", "start")
    assert _options(replay_from_ms=start).record_mode is Mode.REPLAY
    assert _options(mode="live", replay_from_ms=start).record_mode is Mode.REPLAY
    assert _options().record_mode is Mode.DRYRUN and _options(mode="live").record_mode is Mode.LIVE
    assert lock_name(_options(replay_from_ms=start)) == "replay" and lock_name(_options()) == "dryrun"


def test_a_dry_run_after_a_replay_on_the_same_database_sees_none_of_its_rows(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)

    # 1. The replay: real cycles on the paper broker, orders placed, trades left open.
    stream = io.StringIO()
    replay_opts = _options(replay_from_ms=parse_date_ms("2025-10-01", "start"), cycles=150)
    parts, extras = build_service(config, replay_opts, configure_logging(config, mode="dryrun", stream=stream))
    asyncio.run(serve(parts, install_signals=False))
    assert parts.loop.stats.cycles == 150 and parts.loop.stats.failed == 0
    assert parts.cycle.n.signals > 0
    open_replay = extras["repos"]["risk_book"].open_records()  # of any mode
    assert open_replay, "the replay must leave open trades for the dry-run to (not) see"
    for closer in parts.closers:
        closer()
    by_mode = _modes(db_url)
    # A crash had left one of its intents pending and one signal un-notified.
    _sql(db_url, "UPDATE order_intents SET status = 'pending' WHERE id = (SELECT min(id) FROM order_intents)")
    _sql(db_url, "UPDATE signal_log SET status = 'pending' WHERE id = (SELECT min(id) FROM signal_log)")

    # 2. A real dry-run starts on the same database (now, on its own paper account).
    (tmp_path / "dry").mkdir()
    dry_config = _config(tmp_path / "dry", db_url)
    source = cleaned_store(
        dry_config, [(s, Timeframe.parse(dry_config.data.timeframe)) for s in dry_config.data.symbols]
    )
    dry_stream = io.StringIO()
    with RuntimeContainer.candle_source.override(providers.Object(source)):
        dry, dry_extras = build_service(
            dry_config, _options(), configure_logging(dry_config, mode="dryrun", stream=dry_stream)
        )
    try:
        assert dry_extras["desk"].mode is Mode.DRYRUN and dry_extras["scan"].settings.execute
        recon = dry_extras["reconciliation"]
        assert recon is not None and recon.findings == ()  # no replay trade, position or intent reconciled
        assert dry_extras["repos"]["risk_book"].open_records(Mode.DRYRUN) == []  # nothing to track either
        assert dry_extras["repos"]["order_intents"].pending(Mode.DRYRUN) == []
        assert dry_extras["repos"]["signal_log"].pending(Mode.DRYRUN) == []
        assert [e["event"] for e in _lines(dry_stream) if e["event"].startswith(("state_", "ftmo_ledger_"))] == [
            "state_fresh"
        ]  # neither the replay's runtime state nor its FTMO ledger restored
        assert dry_extras["desk"].ftmo is None
        # the outbox step that opens every dry-run cycle re-sends none of the replay's pending signals
        dry.cycle._resend_pending()
        assert dry.cycle.n.resent == 0
    finally:
        for closer in dry.closers:
            closer()
    # The replay's rows are untouched: still open, the intent still pending, the signal still pending.
    after = _modes(db_url)
    assert after == by_mode
    assert _count(db_url, "SELECT count(*) FROM order_intents WHERE status = 'pending'") >= 1
    assert _count(db_url, "SELECT count(*) FROM signal_log WHERE status = 'pending'") == 1
    open_rows = _count(db_url, "SELECT count(*) FROM risk_book WHERE result IS NULL")
    assert open_rows == len(open_replay)
    # Every row the replay wrote is under `replay`, none under any other mode; every log line too.
    assert set(by_mode["signal_log"]) == set(by_mode["risk_book"]) == set(by_mode["order_intents"]) == {"replay"}
    assert set(by_mode["block_log"]) <= {"replay"}
    lines = _lines(stream)
    assert lines and {e["mode"] for e in lines} == {"replay"}
    # Its state and ledger were saved under its own key: the dry-run's fresh start above was not vacuous.
    assert SqlRuntimeStateStore(db_url, namespace="replay").load("replay") is not None
    assert SqlFtmoLedgerStore(db_url, namespace="replay").load("replay") is not None
