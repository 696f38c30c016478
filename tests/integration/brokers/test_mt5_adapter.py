"""Mt5Broker against the fake MetaTrader5 module: retcodes, connection loss, restarts, lazy import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adapters.brokers.mt5.config import Mt5Config
from adapters.brokers.mt5.errors import error_for
from adapters.brokers.mt5.execution import Mt5Broker
from adapters.brokers.mt5.factories import Mt5Unavailable, make_mt5_broker
from adapters.mocks.clock import FakeClock
from composition.config import load_config
from domain.signals import Direction
from domain.trading import OrderRequest
from ports.errors import (
    BrokerDisconnected,
    InsufficientMargin,
    MarketClosed,
    OrderRejected,
    Requote,
)
from tests.integration.brokers import harness
from tests.integration.brokers.fakes import metatrader5 as fake_mt5


def _order(cid: str = "c1", vol: float = 0.01) -> OrderRequest:
    return OrderRequest(cid, "BTC/USDT", Direction.LONG, vol, 39_000.0, 42_000.0)


@pytest.mark.parametrize(
    ("retcode", "error"),
    [
        (10004, Requote),
        (10020, Requote),
        (10018, MarketClosed),
        (10019, InsufficientMargin),
        (10031, BrokerDisconnected),
        (10016, OrderRejected),
        (10017, OrderRejected),
        (10006, OrderRejected),
    ],
)
def test_retcodes_map_to_typed_errors_and_open_nothing(retcode: int, error: type[Exception]) -> None:
    b = harness.mt5(Path("."), FakeClock())
    b.server.fail_next(retcode)
    with pytest.raises(error, match=str(retcode)):
        b.place_order(_order())
    assert b.positions() == []
    assert type(error_for(retcode, "x", "y")) is error


def test_real_server_side_rejections() -> None:
    b = harness.mt5(Path("."), FakeClock())
    with pytest.raises(InsufficientMargin):
        b.place_order(_order(vol=10.0))  # 400k notional at 1:2 > 100k
    b.server.symbols["BTCUSD"].trade_mode = 0
    with pytest.raises(OrderRejected, match="10017"):
        b.place_order(_order("c2"))


def test_wrong_login_and_lost_terminal_are_disconnections() -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    bad = Mt5Broker(fake_mt5.build(srv), Mt5Config(login=srv.login, password="wrong", server=srv.server))
    with pytest.raises(BrokerDisconnected, match="Authorization failed"):
        bad.connect()
    b = harness.mt5(Path("."), clock, srv)
    srv.connected = False
    with pytest.raises(BrokerDisconnected, match="No IPC connection"):
        b.account()
    srv.connected = True
    assert b.account().balance == 100_000.0  # reconnects on the next call


def test_a_new_adapter_instance_does_not_duplicate_an_order() -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    first = harness.mt5(Path("."), clock, srv).place_order(_order("sig-1"))
    again = harness.mt5(Path("."), clock, srv).place_order(_order("sig-1"))  # after a restart
    assert again.position_id == first.position_id and again.fill_price == first.fill_price
    assert len(srv.positions) == 1 and len(srv.requests) == 1


def test_an_order_closed_before_the_retry_is_not_reopened() -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    b = harness.mt5(Path("."), clock, srv)
    f = b.place_order(_order("sig-2"))
    b.close_position(f.position_id)
    assert harness.mt5(Path("."), clock, srv).place_order(_order("sig-2")).position_id == f.position_id
    assert srv.positions == {}


def test_long_client_ids_fit_the_comment_and_come_back_whole() -> None:
    b = harness.mt5(Path("."), FakeClock())
    cid = "signal-2024-01-01T00:00:00Z-BTC/USDT-long-tier-high"
    b.place_order(_order(cid))
    assert len(b.server.requests[0]["comment"]) <= 31
    assert b.positions()[0].client_order_id == cid
    assert [f.client_order_id for f in b.fills()] == [cid]


def test_server_side_stop_appears_in_fills_with_the_client_id() -> None:
    clock = FakeClock()
    b = harness.mt5(Path("."), clock)
    b.place_order(_order("s"))
    clock.advance(60_000)
    b.set_quote("BTC/USDT", 38_990.0, 39_000.0)
    fills = b.fills()
    assert [(f.client_order_id, f.direction) for f in fills] == [("s", Direction.LONG), ("s", Direction.SHORT)]
    assert fills[1].fill_price == 39_000.0 and b.positions() == []
    assert b.fills(fills[1].at_ms) == [fills[1]]


def test_without_the_package_the_error_names_the_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)  # import fails as on Linux
    with pytest.raises(Mt5Unavailable, match=r"BROKER=shim.*BROKER=metaapi"):
        make_mt5_broker(load_config(env_file=None, environ={}))


def test_factory_uses_an_injected_module_from_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    monkeypatch.setitem(sys.modules, "MetaTrader5", fake_mt5.build(srv))
    cfg = load_config(
        env_file=None,
        environ={"BROKER": "mt5", "MT5_LOGIN": str(srv.login), "MT5_PASSWORD": "pw", "MT5_SERVER": srv.server},
    )
    from adapters.brokers.factory import make_broker

    b = make_broker(cfg)
    assert b.symbol_info("BTC/USDT").broker_symbol == "BTCUSD"


def test_measuring_connection_uses_the_read_only_login(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.brokers.factory import make_measuring_broker
    from domain.errors import ConfigError

    clock = FakeClock()
    srv = harness.trade_server(clock)
    srv.password = "investor-pw"  # only the investor password opens this fake account
    env = {"BROKER": "mt5", "MT5_LOGIN": str(srv.login), "MT5_PASSWORD": "trading-pw", "MT5_SERVER": srv.server}
    with pytest.raises(ConfigError, match="MT5_READONLY_LOGIN"):
        make_measuring_broker(load_config(env_file=None, environ=env), mt5_module=fake_mt5.build(srv))
    env |= {"MT5_READONLY_LOGIN": str(srv.login), "MT5_READONLY_PASSWORD": "investor-pw"}
    broker, _clock = make_measuring_broker(load_config(env_file=None, environ=env), mt5_module=fake_mt5.build(srv))
    assert broker.quote("BTC/USDT") == (40_000.0, 40_010.0)
