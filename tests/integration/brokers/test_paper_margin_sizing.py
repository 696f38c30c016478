"""Margin on every broker adapter, and the desk sizing within the paper broker's margin (leverage 1:2):
tight stops never reach the broker as an order it must reject for margin (synthetic cost model, fake
terminals, hand-set prices: mechanics only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import ManualPrices
from adapters.brokers.paper.execution import PaperBroker
from adapters.brokers.rest_shim.wire import spec_from, spec_to
from adapters.mocks.clock import FakeClock
from domain.ftmo import FtmoRules
from domain.policy import PolicyConfig
from domain.signals import BlockReason, Direction, Tier
from domain.trading import DEFAULT_MARGIN_RATE, OrderRequest, SymbolSpec
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk, execute_guarded
from tests.integration.brokers import harness
from tests.integration.brokers.fakes.costs import synthetic_model

PRICES = {"BTC/USDT": 40_000.0, "ETH/USDT": 2_500.0, "BNB/USDT": 600.0}


def test_paper_symbol_info_carries_its_leverage_as_margin_rate() -> None:
    b = PaperBroker(PaperConfig(leverage=2.0), ManualPrices(), synthetic_model(), FakeClock())
    assert b.symbol_info("BTC/USDT").margin_rate == 0.5
    b4 = PaperBroker(PaperConfig(leverage=4.0), ManualPrices(), synthetic_model(), FakeClock())
    assert b4.symbol_info("ETH/USDT").margin_rate == 0.25


def test_tight_stops_are_sized_to_fit_the_paper_margin() -> None:
    clock = FakeClock(1_704_096_000_000)
    board = ManualPrices({p: (px, 0) for p, px in PRICES.items()})
    broker = PaperBroker(PaperConfig(leverage=2.0, seed=3), board, synthetic_model(), clock)
    desk = RiskDesk(
        FtmoRules(100_000),
        PolicyConfig(max_per_hour=100, max_per_hour_by_tier={}),
        RuntimeState("dryrun"),
        risk_per_trade_pct=0.5,
    )
    reasons: list[BlockReason] = []
    fills = 0
    for i in range(12):
        pair = list(PRICES)[i % 3]
        px = PRICES[pair]
        d = Direction.LONG if i % 2 == 0 else Direction.SHORT
        sl = px * (1 - d.sign * 0.002)  # a 0.2% stop: the risk budget alone would buy 2.5x equity
        ex = execute_guarded(
            desk, broker, clock.now_ms(), f"o-{i}", pair, d, px, sl, px * (1 + d.sign * 0.004), Tier.HIGH
        )
        if ex.block is not None:
            reasons.append(ex.block.reason)
        else:
            fills += 1
            acc = broker.account()
            assert acc.margin <= acc.equity  # the broker accepted it: its margin fits
        clock.advance(60_000)
    assert fills >= 1
    assert BlockReason.BROKER_ERROR not in reasons  # no InsufficientMargin from the broker
    assert BlockReason.INSUFFICIENT_MARGIN in reasons  # the desk said why instead


@pytest.mark.parametrize("make", harness.BROKER_FACTORIES)
def test_every_adapter_reports_its_margin_rate_and_holds_that_margin(make: Any, tmp_path: Path) -> None:
    """Paper: 1/leverage; MT5, shim (over MT5) and MetaAPI: the terminal's margin for one lot at the
    ask over its notional (the fake server charges notional / leverage 2). An open position then holds
    spec.margin_for(volume, entry) in account().margin."""
    b = make(tmp_path, FakeClock(1_704_096_000_000))
    spec = b.symbol_info("BTC/USDT")
    assert spec.margin_rate == pytest.approx(0.5, rel=1e-6)
    fill = b.place_order(OrderRequest("m-1", "BTC/USDT", Direction.LONG, 0.1, 39_000.0, 42_000.0))
    assert b.account().margin == pytest.approx(spec.margin_for(fill.volume, fill.fill_price), rel=1e-4)


def test_an_mt5_module_without_margin_calculation_falls_back_to_no_leverage(tmp_path: Path) -> None:
    b = harness.mt5(tmp_path, FakeClock(1_704_096_000_000))
    del b._mt5.order_calc_margin  # an older MetaTrader5 package
    b._margin_rates.clear()
    assert b.symbol_info("BTC/USDT").margin_rate == DEFAULT_MARGIN_RATE


def test_an_old_shim_server_without_margin_rate_reads_as_no_leverage() -> None:
    wire = spec_to(SymbolSpec("BTC/USDT", "BTCUSD", margin_rate=0.25))
    assert spec_from(wire).margin_rate == 0.25
    del wire["margin_rate"]
    assert spec_from(wire).margin_rate == DEFAULT_MARGIN_RATE
