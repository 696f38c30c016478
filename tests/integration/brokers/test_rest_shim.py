"""The REST shim over real HTTP on 127.0.0.1: auth, error mapping, retries of idempotent calls only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.brokers.rest_shim import server as shim_server
from adapters.brokers.rest_shim.client import ShimAuthError, ShimBroker
from adapters.brokers.rest_shim.config import ShimClientConfig
from adapters.brokers.rest_shim.server import start_shim_server
from adapters.mocks.clock import FakeClock
from domain.errors import ConfigError
from domain.signals import Direction
from domain.trading import OrderRequest
from ports.errors import BrokerDisconnected, BrokerError, UnknownPosition
from tests.integration.brokers import harness


def _order(cid: str = "c1") -> OrderRequest:
    return OrderRequest(cid, "BTC/USDT", Direction.LONG, 0.01, 39_000.0, 42_000.0)


class FlakyTerminal:
    """Delegates to a real terminal; fails chosen calls once AFTER they ran (a lost answer) or before."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_after: set[str] = set()
        self.fail_before: set[str] = set()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            if name in self.fail_before:
                self.fail_before.discard(name)
                raise BrokerDisconnected("terminal lost its server")
            result = target(*args)
            if name in self.fail_after:
                self.fail_after.discard(name)
                raise BrokerDisconnected("answer lost")
            return result

        return call


@pytest.fixture
def flaky() -> Any:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    term = FlakyTerminal(harness.mt5(Path("."), clock, srv))
    url, token, stop = start_shim_server(term)
    client = ShimBroker(ShimClientConfig(url=url, token=token, backoff_s=0.0))
    yield term, client, srv, url, token
    client.close()
    stop()


def test_auth_is_required_and_checked(flaky: Any) -> None:
    _term, _client, _srv, url, token = flaky
    assert httpx.get(f"{url}/v1/health").json() == {"status": "ok"}
    assert httpx.get(f"{url}/v1/account").status_code == 401
    assert httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert httpx.get(f"{url}/v1/account", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with pytest.raises(ShimAuthError, match="SHIM_TOKEN"):
        ShimBroker(ShimClientConfig(url=url, token="not-the-token-at-all")).account()
    with pytest.raises(ConfigError):
        ShimBroker(ShimClientConfig(url=url, token=""))


def test_a_lost_order_answer_is_retried_without_a_second_position(flaky: Any) -> None:
    term, client, srv, _url, _token = flaky
    term.fail_after.add("place_order")  # the order is placed, its answer becomes a 503
    fill = client.place_order(_order("sig-9"))
    assert term.calls.count("place_order") == 2 and len(srv.positions) == 1
    assert client.positions()[0].position_id == fill.position_id


def test_reads_are_retried_but_closes_are_not(flaky: Any) -> None:
    term, client, srv, _url, _token = flaky
    term.fail_before.add("account")
    assert client.account().balance == 100_000.0
    fill = client.place_order(_order())
    term.fail_before.add("close_position")
    with pytest.raises(BrokerDisconnected):
        client.close_position(fill.position_id)
    assert term.calls.count("close_position") == 1 and len(srv.positions) == 1
    client.close_position(fill.position_id)
    with pytest.raises(UnknownPosition):
        client.close_position(fill.position_id)


def test_bad_requests_and_server_down(flaky: Any) -> None:
    _term, _client, _srv, url, token = flaky
    r = httpx.post(f"{url}/v1/orders", json={"pair": "BTC/USDT"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    dead = ShimBroker(ShimClientConfig(url="http://127.0.0.1:9", token="t" * 20, retries=1, backoff_s=0.0))
    with pytest.raises(BrokerDisconnected, match="unreachable"):
        dead.account()
    assert dead.requests_sent == 2
    assert issubclass(BrokerDisconnected, BrokerError)


def test_server_refuses_a_short_token_and_the_cli_needs_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="16 characters"):
        shim_server.make_app(object(), "short")  # type: ignore[arg-type]
    monkeypatch.delenv("SHIM_TOKEN", raising=False)
    assert shim_server.main([]) == 2
    assert "SHIM_TOKEN" in capsys.readouterr().err


def test_cli_without_metatrader5_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setenv("SHIM_TOKEN", "x" * 20)
    monkeypatch.setitem(sys.modules, "MetaTrader5", None)
    assert shim_server.main(["--port", "0"]) == 2
    assert "MetaTrader5" in capsys.readouterr().err
