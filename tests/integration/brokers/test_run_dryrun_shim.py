"""`trading-ai run --mode dryrun --broker shim --shim-url http://127.0.0.1:PORT` runs cycles against the
REAL REST shim server started here (aiohttp on 127.0.0.1, a fake MT5 terminal behind it) over a replay of
the REAL 5m candles. The fake terminal quotes the replayed market (the last closed candle's close at the
replay clock's time, 1 bps spread), as a terminal quoting the live market would in a live dry-run.
A dry-run never sends an order to a real account: the terminal receives none."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import composition.runtime.clocks as clocks
from adapters.brokers.rest_shim.server import start_shim_server
from adapters.brokers.symbols import FTMO_SYMBOLS
from adapters.market_data.bundled import BundledCandles
from adapters.mocks.clock import FakeClock
from composition.cli import main
from composition.config import load_config
from domain.market import Timeframe
from tests.integration.brokers import harness
from tests.integration.brokers.fakes import engine as fake_engine
from tests.integration.storage.migrated import migrated_sqlite_url

PAIRS = ("BTC/USDT", "ETH/USDT", "BNB/USDT")


class ReplayPricedTerminal:
    """The Mt5Broker terminal, its fake trade server re-priced from the candles before every call."""

    def __init__(self, inner: Any, server: fake_engine.FakeTradeServer, candles_dir: str, clock_box: list[Any]):
        self._inner = inner
        self._server = server
        self._clock_box = clock_box
        src = BundledCandles(candles_dir)
        self._bars = {p: src.candles(p, Timeframe.M5) for p in PAIRS}
        self.calls: list[str] = []

    def _sync(self) -> None:
        if not self._clock_box:
            return
        now = self._clock_box[0].now_ms()
        for pair, c in self._bars.items():
            i = int(np.searchsorted(c.ts + Timeframe.M5.ms, now, side="right")) - 1  # last bar closed at now
            close = float(c.close[i])
            self._server.set_price(FTMO_SYMBOLS[pair], close, spread=close * 1e-4)

    def __getattr__(self, name: str) -> Any:
        self._sync()
        self.calls.append(name)
        return getattr(self._inner, name)


@pytest.fixture(autouse=True)
def _restore_logger() -> Any:
    yield
    logging.getLogger("trading_ai").handlers.clear()


def test_dryrun_runs_cycles_against_the_shim_and_sends_it_no_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_box: list[Any] = []

    class RecordedReplayClock(clocks.ReplayClock):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            clock_box.append(self)

    monkeypatch.setattr(clocks, "ReplayClock", RecordedReplayClock)
    server = harness.trade_server(FakeClock())
    candles_dir = load_config(env_file=None, environ={}).data.candles_dir
    terminal = ReplayPricedTerminal(harness.mt5(tmp_path, FakeClock(), server), server, candles_dir, clock_box)
    url, token, stop = start_shim_server(terminal)
    for k in ("BROKER", "LIVE_CONFIRM", "TELEGRAM_BOT_TOKEN", "KILL_SWITCH"):
        monkeypatch.delenv(k, raising=False)
    for k, v in {
        "SHIM_TOKEN": token,
        "DATABASE_URL": migrated_sqlite_url(tmp_path / "rt.sqlite3"),
        "DATA_DIR": str(tmp_path),
        "LOG_FILE": str(tmp_path / "run.jsonl"),
        "LOG_FORMAT": "json",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(
            [
                "run",
                "--mode",
                "dryrun",
                "--broker",
                "shim",
                "--shim-url",
                url,
                "--replay-from",
                "2025-10-01",
                "--cycles",
                "60",
                "--no-health",
                "--quiet-signals",
            ]
        )
    finally:
        stop()
    assert rc == 0
    events = [json.loads(x) for x in (tmp_path / "run.jsonl").read_text().splitlines() if x.startswith("{")]
    summary = next(e for e in events if e["event"] == "run_summary")
    assert summary["cycles"] == 60 and summary["failed"] == 0 and summary["signals"] > 0
    # The cycles went through the shim: quotes and account reads reached the terminal over HTTP.
    assert terminal.calls.count("quote") >= summary["signals"] and "account" in terminal.calls
    # Entries are the shim's quotes of the replayed market (1 bps spread), not a made-up price.
    signals = [e for e in events if e["event"] == "signal"]
    assert all(0.5 < e["spread_bps"] < 1.5 and e["slip_bps"] is None for e in signals)
    # Zero orders to the real account in dry-run; no reconciliation of an account it does not trade.
    assert not [r for r in server.requests if r.get("action") == fake_engine.TRADE_ACTION_DEAL]
    assert not server.positions and not [e for e in events if e["event"] == "trade_opened"]
    assert not [e for e in events if e["event"].startswith("reconciliation")]
    with sqlite3.connect(tmp_path / "rt.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM signal_log").fetchone()[0] == len(signals)
    closed = [e for e in events if e["event"] == "trade_closed"]
    print(
        f"shim dry-run: {len(signals)} signals, W/L {summary['wins']}/{summary['losses']}, "
        f"R {summary['r_total']:+.2f}, {len(closed)} closed"
    )
