"""`exec-metrics update --source broker` measures micro-lot fills made through the REAL REST shim: the real
aiohttp server on 127.0.0.1 with a fake MT5 terminal, the real httpx client, orders sent through
MicroLotBroker, then the CLI in-process with BROKER=shim. The fallback model for cells without enough
broker samples is SYNTHETIC (made-up numbers), labelled as such in its file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adapters.brokers.micro_lot import MICRO_LOT, MicroLotBroker
from adapters.brokers.rest_shim.client import ShimBroker
from adapters.brokers.rest_shim.config import ShimClientConfig
from adapters.brokers.rest_shim.server import start_shim_server
from adapters.execution_metrics.json_store import JsonExecutionMetricsStore
from adapters.mocks.clock import FakeClock
from composition.cli import exec_metrics as cli_mod
from composition.cli import main
from domain.market import MS_PER_DAY, MS_PER_HOUR, primary_session
from domain.signals import Direction
from domain.trading import OrderRequest
from tests.integration.brokers import harness
from tests.integration.brokers.fakes.costs import synthetic_model
from tests.integration.brokers.fakes.engine import ORDER_TYPE_BUY


def test_real_brokers_have_lazy_measuring_sources() -> None:
    assert {"mt5", "shim", "metaapi"} <= set(cli_mod.BROKER_SOURCES)
    assert "paper" not in cli_mod.BROKER_SOURCES  # circular: its fills come from the model itself


def test_micro_lot_fills_through_the_shim_update_the_broker_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    yesterday_10utc = (
        int(dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC).timestamp() * 1000)
        - MS_PER_DAY
        + 10 * MS_PER_HOUR
    )  # inside the lookback, inside a trading session
    clock = FakeClock(yesterday_10utc)
    server = harness.trade_server(clock, bid=40_000.0, ask=40_010.0)
    url, token, stop = start_shim_server(harness.mt5(tmp_path, clock, server))
    try:
        micro = MicroLotBroker(ShimBroker(ShimClientConfig(url=url, token=token, backoff_s=0.01)), clock)
        hints = [40_000.0, 40_002.0, 40_004.0, 40_006.0, 40_008.0]  # the signal's entry; the fill is the ask
        for i, hint in enumerate(hints):
            clock.set(yesterday_10utc + i * 60_000)
            micro.place_order(
                OrderRequest(f"micro-{i}", "BTC/USDT", Direction.LONG, 1.0, sl=39_000.0, tp=42_000.0, entry_hint=hint)
            )
        sent = [r for r in server.requests if r.get("type") == ORDER_TYPE_BUY]
        assert len(sent) == 5 and {r["volume"] for r in sent} == {MICRO_LOT}

        JsonExecutionMetricsStore(tmp_path).save(synthetic_model())  # fallback for cells without fills
        for k, v in {"BROKER": "shim", "SHIM_URL": url, "SHIM_TOKEN": token, "DATA_DIR": str(tmp_path)}.items():
            monkeypatch.setenv(k, v)
        assert main(["exec-metrics", "update", "--source", "broker", "--min-samples", "5"]) == 0
    finally:
        stop()
    model = JsonExecutionMetricsStore(tmp_path).load_current()
    assert model.as_of == today and model.source.startswith("broker")
    session = primary_session(yesterday_10utc)
    assert session is not None
    btc = model.profile("BTC/USDT", session)
    expected = [(40_010.0 - h) / h * 1e4 for h in hints]  # adverse slippage of each fill, bps
    assert "slippage: broker" in btc.source
    assert btc.slippage.count == 5 and btc.slippage.mean == pytest.approx(sum(expected) / 5, rel=1e-6)
    # A cell without fills keeps the (synthetic) fallback, and says so.
    eth = model.profile("ETH/USDT", session)
    assert "slippage: broker" not in eth.source
