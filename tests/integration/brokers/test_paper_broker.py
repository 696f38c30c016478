"""PaperBroker: fills drawn from the execution model (seeded), latency SLA, stops, state file; the factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.brokers.factory import make_broker
from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import LatestClose, ManualPrices
from adapters.brokers.paper.execution import PaperBroker, default_session
from adapters.mocks.clock import FakeClock
from composition.config import load_config
from domain.errors import ConfigError
from domain.market import Candles, Session, Timeframe
from domain.signals import Direction
from domain.trading import OrderRequest
from ports.errors import InsufficientMargin, MarketClosed, OrderRejected
from tests.integration.brokers import harness
from tests.integration.brokers.fakes.costs import synthetic_model


def _order(cid: str, d: Direction = Direction.LONG, vol: float = 0.1) -> OrderRequest:
    s = d.sign
    return OrderRequest(cid, "BTC/USDT", d, vol, 40_005 - s * 1_000, 40_005 + s * 2_000, entry_hint=40_005.0)


def _fills(seed: int, latency: float = 150.0) -> list[float]:
    clock = FakeClock()
    board = ManualPrices({"BTC/USDT": (40_005.0, 0)})
    b = PaperBroker(PaperConfig(seed=seed, latency_ms=latency), board, synthetic_model(), clock)
    return [b.place_order(_order(f"c{i}")).fill_price for i in range(20)]


def test_same_seed_same_fills_and_fills_follow_the_model() -> None:
    assert _fills(5) == _fills(5)
    assert _fills(5) != _fills(6)
    # Reproduce the first fill by hand from the same model, session and generator stream.
    model = synthetic_model()
    rng = np.random.default_rng(np.random.SeedSequence(5).spawn(2)[0])
    draw = model.sample("BTC/USDT", default_session(FakeClock().now_ms()), rng, 150.0)
    assert default_session(FakeClock().now_ms()) is Session.TOKYO  # 00:00 UTC
    expected = round(40_005.0 * (1 + (draw.spread_bps / 2 + draw.slippage_bps + draw.latency_penalty_bps) / 1e4), 2)
    assert _fills(5)[0] == expected


def test_latency_above_the_sla_costs_the_p90_penalty() -> None:
    fast, slow = np.array(_fills(9, latency=100.0)), np.array(_fills(9, latency=900.0))
    p90 = synthetic_model().profile("BTC/USDT", Session.TOKYO).slippage.p90
    assert slow - fast == pytest.approx(40_005.0 * p90 / 1e4, abs=0.011)  # same draws, plus the penalty


def test_stops_and_targets_close_on_price_updates() -> None:
    clock = FakeClock()
    b = harness.paper(Path("."), clock)
    b.place_order(_order("long"))
    b.place_order(_order("short", Direction.SHORT))
    clock.advance(60_000)
    b.set_quote("BTC/USDT", 42_100.0, 42_110.0)  # long's TP 42,005 and short's SL 41,005 both crossed
    fills = b.fills()
    assert b.positions() == []
    closes = {f.client_order_id: f for f in fills if f.at_ms == clock.now_ms()}
    assert closes["long"].fill_price == 42_005.0 and closes["long"].direction is Direction.SHORT
    assert closes["short"].fill_price >= 41_005.0  # a stop slips against us, never in our favour
    acct = b.account()
    assert acct.equity == acct.balance and acct.margin == 0.0


def test_rejections_open_nothing() -> None:
    b = harness.paper(Path("."), FakeClock())
    with pytest.raises(OrderRejected, match="multiple"):
        b.place_order(_order("odd", vol=0.015))
    with pytest.raises(InsufficientMargin):
        b.place_order(_order("big", vol=6.0))  # 240k notional at 1:2 needs 120k margin
    no_prices = PaperBroker(PaperConfig(), ManualPrices(), synthetic_model(), FakeClock())
    with pytest.raises(MarketClosed):
        no_prices.place_order(_order("x"))
    assert b.positions() == []


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    state = str(tmp_path / "paper.json")
    first = harness.paper(tmp_path, clock, state_path=state)
    f = first.place_order(_order("keep"))
    again = harness.paper(tmp_path, clock, state_path=state)
    assert again.positions() == first.positions() and again.place_order(_order("keep")) == f
    assert again.account().balance == first.account().balance
    # the generator resumes where it stopped: the next fill equals the one the first instance would draw
    assert again.place_order(_order("next")).fill_price == first.place_order(_order("next")).fill_price


def test_latest_close_price_source() -> None:
    c = Candles("BTC/USDT", Timeframe.parse("5m"), [0, 300_000], [1, 2], [1, 2], [1, 2], [10.0, 11.0], [1, 1])
    assert LatestClose(lambda pair: c)("BTC/USDT") == (11.0, 300_000)
    empty = Candles.empty("BTC/USDT", Timeframe.parse("5m"))
    with pytest.raises(MarketClosed):
        LatestClose(lambda pair: empty)("BTC/USDT")


def test_factory_paper_needs_prices_and_costs_and_mock_refuses_live() -> None:
    cfg = load_config(env_file=None, environ={"BROKER": "paper"})
    with pytest.raises(ConfigError, match="exec-metrics"):
        make_broker(cfg)
    b = make_broker(
        cfg,
        price_source=ManualPrices({"BTC/USDT": (40_000.0, 0)}),
        cost_model=synthetic_model(),
        clock=FakeClock(),
        micro_lot=True,
    )
    assert b.place_order(_order("m", vol=0.5)).volume == pytest.approx(0.01)
    live_mock = load_config(env_file=None, environ={"BROKER": "mock", "MODE": "live"})
    with pytest.raises(ConfigError, match="live"):
        make_broker(live_mock)
    shim = load_config(env_file=None, environ={"BROKER": "shim", "SHIM_TOKEN": ""})
    with pytest.raises(ConfigError, match="SHIM_TOKEN"):
        make_broker(shim)
