"""Broker factories for the contract suite (tests/contract/test_broker_contract.py) and these tests.

Each builds the REAL adapter against a fake of the outside world and adds `set_quote(pair, bid, ask)`
(the contract's documented way to move prices) by steering that fake:
- paper: PaperBroker over a domain ExecutionModel built from synthetic samples; prices on a board;
- mt5: Mt5Broker over the fake `MetaTrader5` module (FakeTradeServer behind it);
- shim: the real aiohttp shim server on 127.0.0.1 (terminal = Mt5Broker over the fake module) and the
  real httpx ShimBroker client;
- metaapi: MetaApiBroker with the real SDK: its REST account lookup answered by respx at the SDK's
  httpx boundary, its streaming RPC connection replaced by FakeRpcConnection.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from adapters.brokers.metaapi.config import METAAPI_DOMAIN, MetaApiConfig
from adapters.brokers.metaapi.execution import MetaApiBroker
from adapters.brokers.mt5.config import Mt5Config
from adapters.brokers.mt5.execution import Mt5Broker
from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import ManualPrices
from adapters.brokers.paper.execution import PaperBroker
from adapters.brokers.rest_shim.client import ShimBroker
from adapters.brokers.rest_shim.config import ShimClientConfig
from adapters.brokers.rest_shim.server import start_shim_server
from adapters.brokers.symbols import FTMO_SYMBOLS
from ports.clock import Clock
from tests.integration.brokers.fakes import engine as fake_engine
from tests.integration.brokers.fakes import metatrader5 as fake_mt5
from tests.integration.brokers.fakes.costs import synthetic_model
from tests.integration.brokers.fakes.metaapi_rpc import FakeRpcConnection

ACCOUNT_ID = "acc-ftmo-1"
TOKEN = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJ0ZXN0In0.ZmFrZS1zaWduYXR1cmU"  # JWT-shaped, fake (API access token)
ACCOUNT_URL = f"https://mt-provisioning-api-v1.{METAAPI_DOMAIN}/users/current/accounts/{ACCOUNT_ID}"


def account_json(state: str = "DEPLOYED") -> dict[str, Any]:
    return {
        "_id": ACCOUNT_ID,
        "login": "5100123",
        "name": "ftmo-challenge",
        "server": "FTMO-Demo",
        "state": state,
        "connectionStatus": "CONNECTED" if state == "DEPLOYED" else "DISCONNECTED",
        "type": "cloud-g2",
        "region": "london",
        "reliability": "regular",
        "magic": 0,
        "platform": "mt5",
    }


def trade_server(clock: Clock, bid: float = 40_000.0, ask: float = 40_010.0) -> fake_engine.FakeTradeServer:
    srv = fake_engine.FakeTradeServer(clock=clock.now_ms)
    srv.add_symbol("BTCUSD", (bid + ask) / 2, spread=ask - bid)
    srv.add_symbol("ETHUSD", 2_000.0, spread=1.0)
    srv.add_symbol("BNBUSD", 300.0, spread=0.1)
    return srv


class _ServerQuotes:
    server: fake_engine.FakeTradeServer

    def set_quote(self, pair: str, bid: float, ask: float | None = None) -> None:
        ask = bid if ask is None else ask
        self.server.set_price(FTMO_SYMBOLS[pair], (bid + ask) / 2, spread=ask - bid)


class PaperHarness(PaperBroker):
    board: ManualPrices

    def set_quote(self, pair: str, bid: float, ask: float | None = None) -> None:
        ask = bid if ask is None else ask
        mid = (bid + ask) / 2
        self.board.set(pair, mid)
        self.note_spread(pair, (ask - bid) / mid * 1e4)


class Mt5Harness(_ServerQuotes, Mt5Broker):
    pass


class ShimHarness(_ServerQuotes, ShimBroker):
    pass


class MetaApiHarness(_ServerQuotes, MetaApiBroker):
    pass


def paper(tmp_path: Path, clock: Clock, state_path: str = "") -> PaperHarness:
    board = ManualPrices()
    b = PaperHarness(PaperConfig(seed=11, state_path=state_path), board, synthetic_model(), clock)
    b.board = board
    b.set_quote("BTC/USDT", 40_000.0, 40_010.0)
    b.set_quote("ETH/USDT", 1_999.5, 2_000.5)
    return b


def mt5(tmp_path: Path, clock: Clock, server: fake_engine.FakeTradeServer | None = None) -> Mt5Harness:
    srv = server or trade_server(clock)
    b = Mt5Harness(fake_mt5.build(srv), Mt5Config(login=srv.login, password=srv.password, server=srv.server))
    b.server = srv
    b.connect()
    return b


def shim(tmp_path: Path, clock: Clock, server: fake_engine.FakeTradeServer | None = None) -> ShimHarness:
    srv = server or trade_server(clock)
    terminal = mt5(tmp_path, clock, srv)
    url, token, stop = start_shim_server(terminal)
    b = ShimHarness(ShimClientConfig(url=url, token=token, backoff_s=0.01))
    b.server = srv
    weakref.finalize(b, stop)
    return b


def metaapi(tmp_path: Path, clock: Clock, server: fake_engine.FakeTradeServer | None = None) -> MetaApiHarness:
    srv = server or trade_server(clock)
    b = MetaApiHarness(
        MetaApiConfig(token=TOKEN, account_id=ACCOUNT_ID, request_timeout_s=10, deploy_timeout_s=10),
        connection_factory=lambda account: FakeRpcConnection(srv, account),
    )
    with respx.mock(assert_all_called=True) as router:
        route = router.get(ACCOUNT_URL).mock(return_value=httpx.Response(200, json=account_json()))
        b.connect()
    if route.calls.last.request.headers.get("auth-token") != TOKEN:
        raise AssertionError("the SDK did not send the MetaAPI token")
    b.server = srv
    weakref.finalize(b, b.close)
    return b


BROKER_FACTORIES: list[Any] = [
    pytest.param(paper, id="paper"),
    pytest.param(mt5, id="mt5"),
    pytest.param(shim, id="shim"),
    pytest.param(metaapi, id="metaapi"),
]
