"""The guard on the live paths charges execution costs (synthetic mock candles: mechanics only)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from domain.execution_costs import FixedCostModel, UnknownCostCell
from domain.guard import DEFAULT_COST_ALLOWANCE, DEFAULT_FEE_BPS, Verdict
from domain.market import Session
from domain.signals import BlockReason, Direction, Tier
from services.execution import RiskDesk, execute_guarded, pre_trade
from tests.unit.services.conftest import System

FREE = FixedCostModel(0.0, 0.0)


def _min_lot_headroom(s: Any, factor: float) -> tuple[float, float]:
    """Put the account `factor` x one minimum lot's stop loss above the daily floor; (entry, sl)."""
    s.ops.ftmo_status()  # the FTMO day starts at 100,000 -> floor 95,500
    entry = s.broker.quote("BTC/USDT")[1]
    sl = entry * 0.99
    s.broker.set_balance(95_500.0 + factor * 0.01 * (entry - sl))
    return entry, sl


def test_default_desk_carries_a_conservative_cost_allowance(live_system: Any) -> None:
    d = live_system.desk
    assert d.costs is DEFAULT_COST_ALLOWANCE and d.fee_bps == DEFAULT_FEE_BPS
    # 10 bps spread + 2 x 5 bps slippage + 2 x 3.25 bps commission on fills 20 bps worse
    assert d.round_trip_bps("BTC/USDT", 0) == pytest.approx(26.513)
    # an open position still owes its exit (10/2 + 5) and, possibly, both commissions (6.513)
    assert d.exit_bps("BTC/USDT", 0) == pytest.approx(16.513)


def test_costs_that_do_not_fit_block_on_the_execution_path(live_system: Any) -> None:
    s = live_system
    s.scan()
    entry, sl = _min_lot_headroom(s, 1.1)  # room for the stop loss, not for 26.5 bps more (26.5% of it)
    now = s.clock.now_ms()
    ex = execute_guarded(
        s.desk, s.broker, now, "m-1", "BTC/USDT", Direction.LONG, entry, sl, None, Tier.HIGH, volume=0.01
    )
    assert ex.fill is None and ex.block is not None and ex.block.reason is BlockReason.DAILY_LOSS
    assert s.broker.orders_sent == 0
    # the same order with a cost-free model fits: the costs decided it
    s.desk.costs, s.desk.fee_bps = FREE, 0.0
    pt = pre_trade(s.desk, s.broker, now, "BTC/USDT", Direction.LONG, entry, sl, Tier.HIGH, volume=0.01)
    assert pt.block is None and pt.volume == 0.01


def test_open_positions_reserve_their_exit_cost() -> None:
    s = System(execute=True, margin_rate=0.01)  # 1:100, so margin leaves room for a second order
    s.desk.costs, s.desk.fee_bps = FREE, 0.0
    s.scan()
    rep = s.scan()
    assert len(rep.signals) == 1 and len(s.broker.positions()) == 1
    p = s.broker.positions()[0]
    entry = s.broker.quote("BTC/USDT")[1]
    sl = entry * 0.99
    free = pre_trade(s.desk, s.broker, s.clock.now_ms(), "BTC/USDT", Direction.LONG, entry, sl, Tier.HIGH, volume=50.0)
    s.desk.costs = FixedCostModel(spread_bps=20.0, slippage_bps=0.0)
    costly = pre_trade(
        s.desk, s.broker, s.clock.now_ms(), "BTC/USDT", Direction.LONG, entry, sl, Tier.HIGH, volume=50.0
    )
    assert free.decision is not None and costly.decision is not None
    assert free.decision.verdict is Verdict.REDUCE and costly.decision.verdict is Verdict.REDUCE
    # the open position's exit (10 bps of the larger of its entry and stop notional) comes off the worst case
    assert free.decision.worst_case_equity - costly.decision.worst_case_equity == pytest.approx(
        10.0 / 1e4 * max(p.entry, p.sl) * p.volume
    )
    assert costly.volume < free.volume


@attrs.frozen
class _NoCells:
    def worst_round_trip_cost_bps(
        self, pair: str, session: Session, latency_ms: float = 0.0, fee_bps: float = 0.0
    ) -> float:
        raise UnknownCostCell(f"no execution profile for {pair}")


def test_a_pair_the_cost_model_lacks_gets_the_default_allowance(live_system: Any) -> None:
    desk: RiskDesk = live_system.desk
    desk.costs = _NoCells()
    assert desk.round_trip_bps("BTC/USDT", 0) == pytest.approx(26.513)
