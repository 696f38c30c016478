"""The desk sizes within the free margin on every execution path (synthetic mock candles: mechanics only)."""

from __future__ import annotations

from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules
from domain.policy import PolicyConfig
from domain.signals import BlockReason, Direction, Tier
from domain.trading import SymbolSpec
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk, execute_guarded, pre_trade

NOW = 1_704_096_000_000  # 2024-01-01 08:00 UTC
FREE = FixedCostModel(0.0, 0.0)


def _desk(costs: FixedCostModel = FREE, fee_bps: float = 0.0) -> RiskDesk:
    return RiskDesk(
        FtmoRules(100_000),
        PolicyConfig(max_per_hour=10),
        RuntimeState("dryrun"),
        risk_per_trade_pct=0.5,
        costs=costs,
        fee_bps=fee_bps,
    )


def _broker(rate: float) -> MockBroker:
    b = MockBroker(
        [SymbolSpec("BTC/USDT", "BTCUSD", margin_rate=rate), SymbolSpec("ETH/USDT", "ETHUSD", margin_rate=rate)],
        FakeClock(NOW),
    )
    b.set_quote("BTC/USDT", 60_000.0)
    b.set_quote("ETH/USDT", 3_000.0)
    return b


def test_tight_stop_is_sized_to_the_free_margin() -> None:
    # 500 at risk over a 120 stop = 4.16 lots (250,000 notional); at 1:2, 100,000 free holds 3.33
    b = _broker(0.5)
    pt = pre_trade(_desk(), b, NOW, "BTC/USDT", Direction.LONG, 60_000.0, 59_880.0, Tier.HIGH)
    assert pt.block is None and pt.volume == 3.33
    ex = execute_guarded(_desk(), b, NOW, "o-1", "BTC/USDT", Direction.LONG, 60_000.0, 59_880.0, None, Tier.HIGH)
    assert ex.fill is not None and ex.volume == 3.33
    assert b.account().margin == 0.5 * 60_000 * 3.33 and b.account().free_margin <= 100_000 - 99_900 + 1e-6


def test_the_order_cost_allowance_is_charged_in_the_margin_price() -> None:
    # 26.5 bps round trip: 100,000 / (0.5 x 60,159) = 3.3245 -> 3.32
    pt = pre_trade(
        _desk(FixedCostModel(10.0, 5.0), 3.25),
        _broker(0.5),
        NOW,
        "BTC/USDT",
        Direction.LONG,
        60_000.0,
        59_880.0,
        Tier.HIGH,
    )
    assert pt.block is None and pt.volume == 3.32


def test_used_margin_blocks_a_second_order_with_a_clear_reason() -> None:
    b = _broker(1.0)
    desk = _desk()
    first = execute_guarded(desk, b, NOW, "o-1", "BTC/USDT", Direction.LONG, 60_000.0, 59_880.0, None, Tier.HIGH)
    assert first.fill is not None and first.volume == 1.66  # 100,000 / 60,000 per lot (no leverage)
    assert 0 < b.account().free_margin < 600  # 400 left: less than 0.01 lot's 600
    second = execute_guarded(desk, b, NOW, "o-2", "BTC/USDT", Direction.SHORT, 60_000.0, 60_120.0, None, Tier.HIGH)
    assert second.fill is None and second.block is not None
    assert second.block.reason is BlockReason.INSUFFICIENT_MARGIN and "free margin 400.00" in second.block.detail
    assert b.orders_sent == 1
    # ETH still fits: 400 / 3,000 per lot -> 0.13 lots
    eth = pre_trade(desk, b, NOW, "ETH/USDT", Direction.LONG, 3_000.0, 2_994.0, Tier.HIGH)
    assert eth.block is None and eth.volume == 0.13


def test_an_explicit_volume_is_capped_by_the_free_margin_too() -> None:
    b = _broker(0.5)
    pt = pre_trade(_desk(), b, NOW, "BTC/USDT", Direction.LONG, 60_000.0, 59_990.0, Tier.HIGH, volume=5.0)
    assert pt.block is None and pt.volume == 3.33
    desk = _desk()
    ex = execute_guarded(
        desk, b, NOW, "o-1", "BTC/USDT", Direction.LONG, 60_000.0, 59_990.0, None, Tier.HIGH, volume=3.33
    )
    assert ex.fill is not None and 0 < b.account().free_margin < 300  # 0.01 lot needs 300 at 1:2
    pt = pre_trade(desk, b, NOW, "BTC/USDT", Direction.LONG, 60_000.0, 59_990.0, Tier.HIGH, volume=0.01)
    assert pt.block is not None and pt.block.reason is BlockReason.INSUFFICIENT_MARGIN
