"""Broker contract. Factories get (tmp_path, clock) and return a broker trading BTC/USDT with a
quote already set near 40,000, a balance of 100,000 and `contract_size` from symbol_info. Tests
move prices only through `set_quote(pair, bid, ask)` when the adapter has it (else they skip)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from domain.signals import Direction
from domain.trading import OrderRequest, SymbolSpec
from ports.broker import Broker
from ports.clock import Clock
from ports.errors import BrokerError, OrderRejected, UnknownPosition, UnknownSymbol


def _mock(tmp_path: Path, clock: Clock) -> Broker:
    b = MockBroker([SymbolSpec("BTC/USDT", "BTCUSD", 1.0)], clock)
    b.set_quote("BTC/USDT", 40_000.0, 40_010.0)
    return b


BROKERS: list[Any] = [pytest.param(_mock, id="mock")]

# The broker adapters (paper, MT5 over a fake MetaTrader5 module, REST shim over real HTTP, MetaAPI with
# respx at the SDK's REST boundary); see tests/integration/brokers/harness.py.
from tests.integration.brokers.harness import BROKER_FACTORIES  # noqa: E402

BROKERS.extend(BROKER_FACTORIES)


@pytest.fixture(params=BROKERS)
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Broker:
    factory: Callable[[Path, Clock], Broker] = request.param
    return factory(tmp_path, FakeClock())


def order(cid: str, d: Direction = Direction.LONG, vol: float = 0.1) -> OrderRequest:
    s = d.sign
    return OrderRequest(cid, "BTC/USDT", d, vol, 40_005 - s * 1_000, 40_005 + s * 2_000)


def test_protocol_quote_and_spec(broker: Broker) -> None:
    assert isinstance(broker, Broker)
    bid, ask = broker.quote("BTC/USDT")
    assert 0 < bid <= ask
    spec = broker.symbol_info("BTC/USDT")
    assert spec.pair == "BTC/USDT" and spec.min_lot > 0 and spec.lot_step > 0
    with pytest.raises(UnknownSymbol):
        broker.symbol_info("NOPE/USDT")


def test_place_is_idempotent_on_client_order_id(broker: Broker) -> None:
    f1 = broker.place_order(order("c-1"))
    f2 = broker.place_order(order("c-1"))
    assert f1 == f2
    pos = broker.positions()
    assert len(pos) == 1 and pos[0].client_order_id == "c-1" and pos[0].volume == pytest.approx(0.1)
    assert f1.fill_price > 0 and f1.volume == pytest.approx(0.1)
    assert [f.client_order_id for f in broker.fills(0)] == ["c-1"]


def test_positions_ordered_and_close(broker: Broker) -> None:
    broker.place_order(order("a"))
    broker.place_order(order("b", Direction.SHORT))
    pos = broker.positions()
    assert [p.client_order_id for p in pos] == ["a", "b"]
    before = broker.account().balance
    close = broker.close_position(pos[0].position_id)
    assert close.volume == pytest.approx(0.1)
    assert [p.client_order_id for p in broker.positions()] == ["b"]
    assert broker.account().balance != before or close.fill_price == pos[0].entry
    with pytest.raises(UnknownPosition):
        broker.close_position(pos[0].position_id)


def test_modify_and_bad_stops(broker: Broker) -> None:
    broker.place_order(order("m"))
    p = broker.positions()[0]
    broker.modify_position(p.position_id, 39_500.0, None)
    assert broker.positions()[0].sl == 39_500.0
    with pytest.raises(OrderRejected):
        broker.modify_position(p.position_id, 41_000.0, None)
    with pytest.raises(UnknownPosition):
        broker.modify_position("missing", 39_000.0, None)
    with pytest.raises(OrderRejected):
        broker.place_order(OrderRequest("bad", "BTC/USDT", Direction.LONG, 0.1, 41_000.0, 42_000.0))
    assert len(broker.positions()) == 1


def test_account_reflects_floating_pnl(broker: Broker) -> None:
    acc0 = broker.account()
    assert acc0.balance == pytest.approx(100_000) and acc0.equity == pytest.approx(100_000)
    broker.place_order(order("e", vol=1.0))
    if not hasattr(broker, "set_quote"):
        pytest.skip("adapter cannot move prices")
    broker.set_quote("BTC/USDT", 40_510.0, 40_520.0)
    acc = broker.account()
    entry = broker.positions()[0].entry
    assert acc.equity - acc.balance == pytest.approx((40_510.0 - entry) * 1.0)


def test_failure_raises_broker_error_and_opens_nothing(broker: Broker) -> None:
    with pytest.raises(BrokerError):
        broker.place_order(OrderRequest("z", "BTC/USDT", Direction.LONG, 0.001, 39_000.0, 41_000.0))
    assert broker.positions() == []
