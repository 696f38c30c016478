"""A dry-run on the paper broker trades the paper account through the guarded execution path, so its
equity (balance + floating P&L) moves and the FTMO daily/total floors bite. REAL 5m candles, replayed."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from composition.config import load_config
from composition.containers import RunOptions, parse_date_ms, places_orders
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from composition.runtime.service import serve
from domain.signals import Direction, Mode
from tests.integration.storage.migrated import migrated_sqlite_url


@pytest.fixture(autouse=True)
def _restore_logger() -> Any:
    yield
    logging.getLogger("trading_ai").handlers.clear()


def test_only_simulated_brokers_take_dry_run_orders() -> None:
    assert places_orders(Mode.DRYRUN, "paper") and places_orders(Mode.DRYRUN, "mock")
    assert not any(places_orders(Mode.DRYRUN, k) for k in ("shim", "mt5", "metaapi"))
    assert all(places_orders(Mode.LIVE, k) for k in ("shim", "mt5", "metaapi"))


def test_paper_dry_run_moves_equity_and_the_daily_floor_blocks_with_an_alert(tmp_path: Path) -> None:
    # A tight daily buffer (0.3% of 100k = 300 USD) at 0.1% risk per trade: a few open worst cases fill it.
    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": migrated_sqlite_url(tmp_path / "rt.sqlite3"),
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp_path),
            "DAILY_LOSS_BUFFER_PCT": "0.3",
            "RISK_PER_TRADE_PCT": "0.1",
        },
    )
    stream = io.StringIO()
    log = configure_logging(config, mode="dryrun", stream=stream)
    options = RunOptions(
        mode="dryrun",
        replay_from_ms=parse_date_ms("2025-10-01", "start"),
        cycles=250,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=False,
        console_signals=False,
    )
    parts, extras = build_service(config, options, log)
    asyncio.run(serve(parts, install_signals=False))
    events = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
    broker = parts.cycle.broker
    fills = broker.fills()

    # Every emitted signal is a paper order, logged with its realised slippage.
    opened = [e for e in events if e["event"] == "trade_opened"]
    assert len(opened) == parts.cycle.n.signals > 0
    assert all(e["slip_bps"] is not None and e["mode"] == "replay" for e in opened)  # a replayed dry-run
    entries = {
        f.client_order_id: f
        for f in fills
        if f.direction is not None and f.position_id and f.client_order_id in {e["signal_id"] for e in opened}
    }
    assert set(entries) >= {e["signal_id"] for e in opened}

    # Losses accumulate in the paper account: closing fills below (long) / above (short) their entry.
    opening = {}
    losing = 0
    for f in fills:
        if f.position_id not in opening:
            opening[f.position_id] = f
            continue
        o = opening[f.position_id]
        losing += (f.fill_price - o.fill_price) * (1 if o.direction is Direction.LONG else -1) < 0
    assert losing > 0
    acc = broker.account()
    assert acc.balance != config.risk.initial_balance and acc.equity != acc.balance  # realised and floating

    # ... and the FTMO guard measures that equity: the daily floor blocks, each block alerted.
    blocks = parts.cycle.n.blocks
    guard_blocks = blocks["daily_loss"] + blocks["max_loss"]
    assert blocks["daily_loss"] > 0
    alerts = [e for e in events if e["event"] == "alert" and e["kind"] == "guardrail_breach"]
    assert len(alerts) >= guard_blocks and extras["notifier"].counts["guardrail_breach"] == len(alerts)
    assert extras["desk"].ftmo is not None and extras["desk"].ftmo.day_start_balance == config.risk.initial_balance
