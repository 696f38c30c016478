"""Restart safety: send an order, kill the runtime, restart, reconcile -> one position, no duplicate.

The broker outlives the runtime, as it does in production: the MT5 trade server behind the REST
shim (a real aiohttp server on 127.0.0.1 reached by the real httpx client), or the paper broker's
state file. The risk book is a real SQLite file through the storage adapter. "Killing" the runtime
drops every object it held; the restarted runtime builds new ones from the URL and the files only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.brokers.micro_lot import MicroLotBroker
from adapters.mocks.clock import FakeClock
from adapters.storage import migrate
from adapters.storage.engine import create_engine_for
from adapters.storage.repositories import EngineScope, SqlRiskBookRepository
from domain.risk_book import TradeRecord
from domain.signals import Direction, Mode, Tier
from domain.trading import OrderRequest
from services.reconciliation import reconcile
from tests.integration.brokers import harness
from tests.integration.brokers.fakes import engine as fake_engine

SIGNAL = "sig-2024-01-01T00:00-BTC-long"


def _book(url: str) -> SqlRiskBookRepository:
    return SqlRiskBookRepository(EngineScope(create_engine_for(url)))


def _order(cid: str = SIGNAL) -> OrderRequest:
    return OrderRequest(cid, "BTC/USDT", Direction.LONG, 0.01, sl=39_005.0, tp=42_005.0, entry_hint=40_005.0)


def _record(cid: str = SIGNAL) -> TradeRecord:
    return TradeRecord(
        signal_id=cid,
        pair="BTC/USDT",
        tier=Tier.HIGH,
        entry_time_ms=1_704_067_200_000,
        entry_price=40_005.0,
        tp_price=42_005.0,
        sl_price=39_005.0,
        rr_expected=2.0,
        mode=Mode.LIVE,
    )


class ShimWorld:
    """The Windows side survives restarts: one fake trade server and one shim server for the test."""

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.clock = clock
        self.server = harness.trade_server(clock)
        self._keep: list[Any] = []

    def connect(self) -> Any:
        b = harness.shim(Path("."), self.clock, self.server)
        self._keep.append(b)  # keep the shim server up across the "runtime" restarts
        return b

    def open_requests(self) -> int:
        return sum(
            1
            for r in self.server.requests
            if r.get("action") == fake_engine.TRADE_ACTION_DEAL and not r.get("position")
        )


class PaperWorld:
    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.clock = clock
        self.state = str(tmp_path / "paper_state.json")
        self._last: Any = None

    def connect(self) -> Any:
        self._last = harness.paper(Path("."), self.clock, state_path=self.state)
        return self._last

    def open_requests(self) -> int:
        return len([f for f in self._last.fills() if f.direction is Direction.LONG])


@pytest.fixture(params=[ShimWorld, PaperWorld], ids=["shim", "paper"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    factory: Callable[[Path, FakeClock], Any] = request.param
    return factory(tmp_path, FakeClock())


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'risk_book.sqlite3'}"
    migrate.upgrade(url)
    return url


def test_restart_after_send_reconciles_to_one_position(world: Any, db_url: str) -> None:
    # Runtime 1: the signal's record is written, the order is sent... and the process dies before it
    # can note the fill anywhere.
    book = _book(db_url)
    book.add(_record())
    broker = world.connect()
    broker.place_order(_order())
    del broker, book  # kill: nothing held in memory survives

    # Runtime 2: fresh objects from the URL and the files only.
    book2 = _book(db_url)
    broker2 = world.connect()
    report = reconcile(broker2, book2, Mode.LIVE, pending=[_order()], resubmit=True)
    assert [f.kind for f in report.findings] == ["matched"]
    assert report.clean
    # The restarted runtime retries the signal it believes unsent: the client id makes it a no-op.
    broker2.place_order(_order())
    positions = broker2.positions()
    assert len(positions) == 1 and positions[0].client_order_id == SIGNAL
    assert world.open_requests() == 1
    # Reconciling again changes nothing.
    assert [f.kind for f in reconcile(broker2, book2, Mode.LIVE).findings] == ["matched"]


def test_crash_before_send_resubmits_once(world: Any, db_url: str) -> None:
    book = _book(db_url)
    book.add(_record())  # recorded, then died before the order left
    broker = world.connect()
    report = reconcile(broker, book, Mode.LIVE, pending=[_order()], resubmit=True)
    assert [f.kind for f in report.findings] == ["resubmitted"]
    report2 = reconcile(world.connect(), _book(db_url), Mode.LIVE, pending=[_order()], resubmit=True)
    assert [f.kind for f in report2.findings] == ["matched"]
    assert len(world.connect().positions()) == 1
    assert world.open_requests() == 1


def test_without_resubmit_an_unsent_order_is_only_reported(world: Any, db_url: str) -> None:
    book = _book(db_url)
    book.add(_record())
    report = reconcile(world.connect(), book, Mode.LIVE, pending=[_order()], resubmit=False)
    assert [f.kind for f in report.findings] == ["unfilled"]
    assert world.connect().positions() == []
    assert book.get(SIGNAL) == _record()


def test_stop_hit_while_down_closes_the_record(world: Any, db_url: str) -> None:
    book = _book(db_url)
    book.add(_record())
    broker = world.connect()
    broker.place_order(_order())
    del broker
    world.clock.advance(600_000)
    b2 = world.connect()
    b2.set_quote("BTC/USDT", 38_900.0, 38_910.0)  # through the stop while nobody watched
    report = reconcile(b2, _book(db_url), Mode.LIVE)
    assert [f.kind for f in report.findings] == ["closed_while_down"]
    rec = _book(db_url).get(SIGNAL)
    assert rec is not None and rec.result == "L" and rec.exit_price is not None
    assert rec.exit_price == pytest.approx(39_005.0, rel=1e-3)
    assert b2.positions() == []


def test_unknown_position_is_adopted_and_foreign_one_reported(db_url: str) -> None:
    clock = FakeClock()
    srv = harness.trade_server(clock)
    b = harness.mt5(Path("."), clock, srv)
    b.place_order(_order("orphan-1"))  # sent, but no record was written
    srv.order_send({"action": 1, "symbol": "ETHUSD", "volume": 0.1, "type": 1, "sl": 2_100.0, "comment": ""})
    book = _book(db_url)
    report = reconcile(b, book, Mode.LIVE)
    assert sorted(f.kind for f in report.findings) == ["adopted", "foreign_position"]
    adopted = book.get("orphan-1")
    assert adopted is not None and adopted.is_open and adopted.sl_price == 39_005.0
    assert [f.kind for f in reconcile(b, book, Mode.LIVE).findings] == ["matched", "foreign_position"]


def test_micro_lot_journal_feeds_the_risk_book(db_url: str) -> None:
    clock = FakeClock()
    inner = harness.mt5(Path("."), clock)
    book = _book(db_url)
    book.add(_record())
    micro = MicroLotBroker(inner, clock, risk_book=book, expected_slippage=lambda pair, at, lat: 1.5)
    fill = micro.place_order(OrderRequest(SIGNAL, "BTC/USDT", Direction.LONG, 0.37, 39_005.0, 42_005.0, 40_000.0))
    assert fill.volume == pytest.approx(0.01)
    rec = book.get(SIGNAL)
    assert rec is not None
    assert rec.slippage_bps == pytest.approx((40_010.0 - 40_000.0) / 40_000.0 * 1e4)  # filled at the ask
    assert rec.slippage_expected_bps == 1.5 and rec.latency_ms is not None and rec.latency_ms >= 0
    clock.advance(120_000)
    inner.set_quote("BTC/USDT", 42_100.0, 42_110.0)  # take profit hit by the server
    micro.sync()
    closed = book.get(SIGNAL)
    assert closed is not None and closed.result == "W"
    assert closed.r_realized == pytest.approx((42_005.0 - 40_010.0) / (40_005.0 - 39_005.0))
    assert [f.direction for f in micro.fills()] == [Direction.LONG, Direction.SHORT]
