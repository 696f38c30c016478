"""OperatorCommands contract, run against the operator service on mocks (Telegram drives this port).

Factories get tmp_path and return (commands, advance_clock_ms)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from adapters.mocks.event_bus import InMemoryEventBus
from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from adapters.mocks.notifier import RecordingNotifier
from adapters.mocks.predictor import FixedPredictor
from adapters.mocks.storage import InMemoryRiskBook, InMemorySignalLog
from domain.errors import ConfigError
from domain.ftmo import FtmoRules
from domain.market import Timeframe
from domain.policy import PolicyConfig
from domain.signals import Block, BlockReason, Direction, Signal, Tier
from domain.trading import SymbolSpec
from ports.operator import OperatorCommands
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk
from services.operator_commands import OperatorService
from services.scan_cycle import ScanCycle, ScanSettings

START = 1_704_067_200_000


def _service(tmp_path: Path) -> OperatorCommands:
    clock = FakeClock(START + 300 * Timeframe.M5.ms)
    c = synthetic_candles("BTC/USDT", Timeframe.M5, 300, START, seed=4, start_price=40_000)
    broker = MockBroker([SymbolSpec("BTC/USDT", "BTCUSD")], clock)
    broker.set_quote("BTC/USDT", float(c.close[-1]))
    desk = RiskDesk(FtmoRules(), PolicyConfig(), RuntimeState("dryrun"))
    cycle = ScanCycle(
        ScanSettings(("BTC/USDT",)),
        desk,
        InMemoryMarketData([c]),
        [FixedPredictor("lstm", "v1", {"BTC/USDT": 0.8})],
        lambda x: x,
        broker,
        RecordingNotifier(),
        InMemoryRiskBook(),
        InMemorySignalLog(),
        InMemoryEventBus(),
        clock,
    )
    return OperatorService(cycle)


OPERATORS: list[Any] = [pytest.param(_service, id="service-on-mocks")]


@pytest.fixture(params=OPERATORS)
def ops(request: pytest.FixtureRequest, tmp_path: Path) -> OperatorCommands:
    factory: Callable[[Path], OperatorCommands] = request.param
    return factory(tmp_path)


def test_reads_have_no_side_effects(ops: OperatorCommands) -> None:
    assert isinstance(ops, OperatorCommands)
    a, b = ops.check(), ops.check()
    assert a == b and not a.kill_switch and not a.halted
    assert ops.stats(7) == ops.stats(7)
    s = ops.ftmo_status()
    assert s.initial_balance == 100_000 and s.daily_floor == 95_500 and s.total_floor == 91_000
    assert s.min_trading_days == 4 and s.trading_days == 0


def test_threshold_validation_changes_nothing_on_error(ops: OperatorCommands) -> None:
    before = ops.check().thresholds
    with pytest.raises(ConfigError):
        ops.set_threshold(Tier.MEDIUM, 0.99)
    assert ops.check().thresholds == before
    assert dict(ops.set_threshold(Tier.MEDIUM, 0.62))["MEDIUM"] == 0.62


def test_kill_switch_idempotent_and_blocks_forced_signal(ops: OperatorCommands) -> None:
    assert ops.kill_switch(True) is True and ops.kill_switch(True) is True
    assert ops.check().kill_switch
    out = ops.force_signal("BTC/USDT", Direction.LONG)
    assert isinstance(out, Block) and out.reason is BlockReason.KILL_SWITCH
    assert ops.kill_switch(False) is False
    assert isinstance(ops.force_signal("BTC/USDT", Direction.LONG), Signal)


def test_retrain_requests_are_distinct(ops: OperatorCommands) -> None:
    a, b = ops.request_retrain("drift"), ops.request_retrain()
    assert a.request_id != b.request_id and a.reason == "drift"


def test_recent_signals_blocks_and_positions_read_what_happened(ops: OperatorCommands) -> None:
    assert ops.recent_signals(5) == () and ops.recent_blocks(5) == ()
    ops.kill_switch(True)
    blocked = ops.force_signal("BTC/USDT", Direction.LONG)
    ops.kill_switch(False)
    first = ops.force_signal("BTC/USDT", Direction.LONG)
    second = ops.force_signal("BTC/USDT", Direction.SHORT)
    assert isinstance(first, Signal) and isinstance(second, Signal) and isinstance(blocked, Block)
    assert ops.recent_signals(5) == (second, first)  # newest first
    assert ops.recent_signals(1) == (second,) and ops.recent_signals(0) == ()
    assert ops.recent_blocks(5)[0] == blocked
    assert ops.recent_signals(5) == ops.recent_signals(5)  # a read
    assert ops.positions() == ()  # a signal-only cycle (execute=False) places no order


def test_positions_carry_their_floating_pnl_at_the_quote(tmp_path: Path) -> None:
    clock = FakeClock(START + 300 * Timeframe.M5.ms)
    c = synthetic_candles("BTC/USDT", Timeframe.M5, 300, START, seed=4, start_price=40_000)
    broker = MockBroker([SymbolSpec("BTC/USDT", "BTCUSD")], clock)
    broker.set_quote("BTC/USDT", float(c.close[-1]))
    desk = RiskDesk(FtmoRules(), PolicyConfig(), RuntimeState("dryrun"))
    cycle = ScanCycle(
        ScanSettings(("BTC/USDT",), execute=True),
        desk,
        InMemoryMarketData([c]),
        [FixedPredictor("lstm", "v1", {"BTC/USDT": 0.8})],
        lambda x: x,
        broker,
        RecordingNotifier(),
        InMemoryRiskBook(),
        InMemorySignalLog(),
        InMemoryEventBus(),
        clock,
    )
    ops = OperatorService(cycle)
    sig = ops.force_signal("BTC/USDT", Direction.LONG)
    assert isinstance(sig, Signal)
    broker.set_quote("BTC/USDT", float(c.close[-1]) * 1.01)
    (p,) = ops.positions()
    bid, ask = broker.quote("BTC/USDT")
    assert p.price is not None and p.pnl is not None
    assert p.pair == "BTC/USDT" and p.direction == "long" and p.price == pytest.approx((bid + ask) / 2)
    assert p.pnl == pytest.approx((p.price - p.entry) * p.volume) and p.pnl > 0


def test_daily_rows_cover_each_prague_day_newest_first(ops: OperatorCommands) -> None:
    rows = ops.daily(3)
    assert len(rows) == 3 and [r.day for r in rows] == sorted((r.day for r in rows), reverse=True)
    assert all(r.trades == r.wins == 0 and r.total_r == 0 for r in rows)  # nothing closed yet
    assert ops.daily(3) == rows
