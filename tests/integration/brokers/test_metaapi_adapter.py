"""MetaApiBroker with the real metaapi-cloud-sdk: REST calls answered by respx at the SDK's httpx
boundary (account lookup, deploy, token and account errors), trading over a fake RPC connection."""

from __future__ import annotations

import httpx
import pytest
import respx

from adapters.brokers.metaapi.config import MetaApiConfig
from adapters.brokers.metaapi.execution import MetaApiBroker
from adapters.mocks.clock import FakeClock
from domain.errors import ConfigError
from domain.signals import Direction
from domain.trading import OrderRequest
from ports.errors import BrokerDisconnected, InsufficientMargin, MarketClosed, Requote, UnknownPosition
from tests.integration.brokers import harness
from tests.integration.brokers.fakes.metaapi_rpc import FakeRpcConnection


def _broker(srv: object, token: str = harness.TOKEN) -> MetaApiBroker:
    cfg = MetaApiConfig(
        token=token, account_id=harness.ACCOUNT_ID, request_timeout_s=5, deploy_timeout_s=5, deploy_poll_ms=20
    )
    return MetaApiBroker(cfg, connection_factory=lambda account: FakeRpcConnection(srv, account))  # type: ignore[arg-type]


def test_undeployed_account_is_deployed_over_rest() -> None:
    srv = harness.trade_server(FakeClock())
    b = _broker(srv)
    with respx.mock(assert_all_called=True) as router:
        states = iter(["UNDEPLOYED", "DEPLOYING", "DEPLOYED", "DEPLOYED"])
        router.get(harness.ACCOUNT_URL).mock(
            side_effect=lambda req: httpx.Response(200, json=harness.account_json(next(states)))
        )
        deploy = router.post(f"{harness.ACCOUNT_URL}/deploy").mock(return_value=httpx.Response(204))
        b.connect()
    assert deploy.call_count == 1
    assert b.account_info["state"] == "DEPLOYED" and b.account().balance == 100_000.0
    b.close()


def test_an_account_token_cannot_deploy_and_says_so() -> None:
    b = _broker(harness.trade_server(FakeClock()), token="account-access-token")
    with respx.mock() as router:
        router.get(harness.ACCOUNT_URL).mock(return_value=httpx.Response(200, json=harness.account_json("UNDEPLOYED")))
        with pytest.raises(ConfigError, match="API access token"):
            b.connect()
    b.close()


@pytest.mark.parametrize(("status", "match"), [(401, "METAAPI_TOKEN"), (404, "METAAPI_ACCOUNT_ID")])
def test_bad_token_or_account_is_a_config_error(status: int, match: str) -> None:
    b = _broker(harness.trade_server(FakeClock()))
    with respx.mock() as router:
        router.get(harness.ACCOUNT_URL).mock(
            return_value=httpx.Response(status, json={"id": status, "error": "Err", "message": "nope"})
        )
        with pytest.raises(ConfigError, match=match):
            b.connect()
    b.close()


def test_missing_credentials_fail_at_construction() -> None:
    with pytest.raises(ConfigError, match="METAAPI_TOKEN"):
        MetaApiBroker(MetaApiConfig(token="", account_id="x"))


@pytest.mark.parametrize(
    ("retcode", "error"),
    [(10004, Requote), (10018, MarketClosed), (10019, InsufficientMargin), (10031, BrokerDisconnected)],
)
def test_trade_exceptions_are_typed(retcode: int, error: type[Exception]) -> None:
    b = harness.metaapi(None, FakeClock())  # type: ignore[arg-type]
    b.server.fail_next(retcode)
    with pytest.raises(error):
        b.place_order(OrderRequest("c", "BTC/USDT", Direction.LONG, 0.01, 39_000.0))
    assert b.positions() == []
    with pytest.raises(UnknownPosition):
        b.close_position("424242")
    b.close()


def test_lost_streaming_connection_is_a_disconnection_and_restart_is_idempotent() -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    b = harness.metaapi(None, clock, srv)  # type: ignore[arg-type]
    f = b.place_order(OrderRequest("sig-1", "BTC/USDT", Direction.SHORT, 0.01, 41_000.0, 38_000.0))
    srv.connected = False
    with pytest.raises(BrokerDisconnected, match="NotConnectedException"):
        b.account()
    srv.connected = True
    b.close()
    b2 = harness.metaapi(None, clock, srv)  # type: ignore[arg-type]
    again = b2.place_order(OrderRequest("sig-1", "BTC/USDT", Direction.SHORT, 0.01, 41_000.0, 38_000.0))
    assert again.position_id == f.position_id and len(srv.positions) == 1
    b2.close()
