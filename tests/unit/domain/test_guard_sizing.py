"""Guard and position sizing: exact numbers and the money-guarding properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules, FtmoState, check
from domain.guard import (
    Verdict,
    exit_cost_allowance,
    exit_cost_bps,
    guard_order,
    order_cost_per_lot,
    round_trip_cost_bps,
    worst_case_equity,
)
from domain.market import Session
from domain.signals import BlockReason, Direction
from domain.sizing import loss_per_lot, position_size, volume_for_budget
from domain.trading import Position, SymbolSpec

BTC = SymbolSpec("BTC/USDT", "BTCUSD", contract_size=1.0, min_lot=0.01, lot_step=0.01, digits=2)
ETH = SymbolSpec("ETH/USDT", "ETHUSD", contract_size=10.0, min_lot=0.1, lot_step=0.1, digits=2)
SPECS = {"BTC/USDT": BTC, "ETH/USDT": ETH}
RULES = FtmoRules(initial_balance=100_000)


def pos(pid: str, pair: str, d: Direction, vol: float, entry: float, sl: float) -> Position:
    return Position(pid, pair, d, vol, entry, sl, None, 0, pid)


def test_position_size_exact() -> None:
    # 0.5% of 100,000 = 500 at risk; stop 1,000 away on 1-unit contracts -> 0.5 lots.
    assert position_size(100_000, 0.5, 60_000, 59_000, BTC) == 0.5
    # half risk in backoff
    assert position_size(100_000, 0.5, 60_000, 59_000, BTC, risk_multiplier=0.5) == 0.25
    # 333.33 budget / 1000 per lot -> 0.33 (floored to the step)
    assert volume_for_budget(333.33, 60_000, 59_000, BTC) == 0.33
    # below the minimum lot -> 0
    assert volume_for_budget(5.0, 60_000, 59_000, BTC) == 0.0
    assert volume_for_budget(100.0, 100, 100, BTC) == 0.0
    assert loss_per_lot(3000, 2900, ETH) == 1000.0
    assert volume_for_budget(1500.0, 3000, 2900, ETH) == 1.5


@given(
    equity=st.floats(1_000, 1e7),
    risk=st.floats(0.01, 5.0),
    entry=st.floats(1.0, 1e5),
    dist_frac=st.floats(1e-4, 0.5),
    cs=st.sampled_from([1.0, 10.0, 100.0, 0.1]),
    step=st.sampled_from([0.01, 0.1, 1.0]),
)
def test_position_size_never_exceeds_budget(
    equity: float, risk: float, entry: float, dist_frac: float, cs: float, step: float
) -> None:
    spec = SymbolSpec("X/Y", "XY", contract_size=cs, min_lot=step, lot_step=step)
    sl = entry * (1 - dist_frac)
    vol = position_size(equity, risk, entry, sl, spec)
    budget = equity * risk / 100
    assert vol * loss_per_lot(entry, sl, spec) <= budget + 1e-9
    assert vol == 0 or vol >= spec.min_lot
    # maximal: one more step would exceed the budget (unless capped at max_lot)
    if 0 < vol < spec.max_lot:
        assert (vol + step) * loss_per_lot(entry, sl, spec) > budget - 1e-6


def state(day_start: float) -> FtmoState:
    return FtmoState(day_start_ms=0, day_start_balance=day_start, max_eod_balance=day_start)


def test_guard_allows_within_headroom() -> None:
    chk = check(RULES, state(100_000), equity=100_000)  # floor 95,500
    d = guard_order(chk, 100_000, [], SPECS, "BTC/USDT", 60_000, 59_000, 1.0)
    assert d.verdict is Verdict.ALLOW and d.volume == 1.0 and d.floor == 95_500


def test_guard_counts_open_positions_at_their_sl_and_reduces() -> None:
    chk = check(RULES, state(100_000), equity=100_000)  # headroom 4,500
    open_ = [pos("p1", "ETH/USDT", Direction.LONG, 2.0, 3000, 2900)]  # 2,000 at SL
    marks = {"ETH/USDT": 3000.0}
    assert worst_case_equity(100_000, 100_000, open_, SPECS, marks) == 98_000
    d = guard_order(chk, 100_000, open_, SPECS, "BTC/USDT", 60_000, 59_000, 3.0, marks=marks)
    # 2,500 left -> 2.5 lots of 1,000 each
    assert d.verdict is Verdict.REDUCE and d.volume == 2.5 and d.reason is BlockReason.DAILY_LOSS
    d2 = guard_order(chk, 100_000, open_, SPECS, "BTC/USDT", 60_000, 59_000, 2.5, marks=marks)
    assert d2.verdict is Verdict.ALLOW


def test_guard_blocks_after_losses() -> None:
    chk = check(RULES, state(105_000), equity=100_505)  # floor 100,500 -> 5 of headroom
    d = guard_order(chk, 100_505, [], SPECS, "BTC/USDT", 60_000, 59_000, 0.5)
    assert d.verdict is Verdict.BLOCK and d.reason is BlockReason.DAILY_LOSS and d.volume == 0
    chk2 = check(RULES, state(95_000), equity=91_000)  # total floor 91,000 binds
    d2 = guard_order(chk2, 91_000, [], SPECS, "BTC/USDT", 60_000, 59_000, 0.01)
    assert d2.verdict is Verdict.BLOCK and d2.reason is BlockReason.MAX_LOSS
    d3 = guard_order(chk, 100_505, [], SPECS, "BTC/USDT", 60_000, 60_000, 0.5)
    assert d3.verdict is Verdict.BLOCK


def test_guard_extra_cost_and_no_marks_is_conservative() -> None:
    chk = check(RULES, state(100_000), equity=101_000)
    open_ = [pos("p1", "BTC/USDT", Direction.SHORT, 1.0, 60_000, 61_000)]
    # without marks: min(equity, balance)=100,000 minus 1,000 at SL -> 99,000
    assert worst_case_equity(101_000, 100_000, open_, SPECS) == 99_000
    # with the mark at 59,000 the position is +1,000; stop at 61,000 is -1,000: a 2,000 fall
    assert worst_case_equity(101_000, 100_000, open_, SPECS, {"BTC/USDT": 59_000}) == 99_000
    d = guard_order(chk, 100_000, open_, SPECS, "BTC/USDT", 60_000, 59_000, 3.5, extra_cost=500)
    # 99,000 - 95,500 - 500 = 3,000 -> 3.0 lots
    assert d.verdict is Verdict.REDUCE and d.volume == 3.0


def test_guard_charges_the_new_orders_round_trip_cost() -> None:
    chk = check(RULES, state(100_000), equity=100_000)  # floor 95,500 -> 4,500 of headroom
    # 20 bps of the larger of entry/stop notional: 60,000 x 0.002 = 120 per lot on top of 1,000 at SL
    assert order_cost_per_lot(60_000, 59_000, BTC, 20.0) == pytest.approx(120.0)
    assert order_cost_per_lot(60_000, 61_000, BTC, 20.0) == pytest.approx(122.0)  # a short's stop is higher
    assert guard_order(chk, 100_000, [], SPECS, "BTC/USDT", 60_000, 59_000, 4.5).verdict is Verdict.ALLOW
    d = guard_order(chk, 100_000, [], SPECS, "BTC/USDT", 60_000, 59_000, 4.5, cost_bps=20.0)
    # 4,500 / 1,120 = 4.017 -> 4.01 lots (4.01 x 1,120 = 4,491.2; 4.02 lots would be 4,502.4)
    assert d.verdict is Verdict.REDUCE and d.volume == 4.01 and d.reason is BlockReason.DAILY_LOSS
    assert (
        guard_order(chk, 100_000, [], SPECS, "BTC/USDT", 60_000, 59_000, 4.01, cost_bps=20.0).verdict is Verdict.ALLOW
    )
    # costs alone can leave less than one minimum lot: block
    tight = check(RULES, state(100_000), equity=95_511)  # 11 of headroom; 0.01 lot costs 10 + 1.2
    assert guard_order(tight, 95_511, [], SPECS, "BTC/USDT", 60_000, 59_000, 0.01).verdict is Verdict.ALLOW
    assert (
        guard_order(tight, 95_511, [], SPECS, "BTC/USDT", 60_000, 59_000, 0.01, cost_bps=20.0).verdict is Verdict.BLOCK
    )


def test_guard_reserves_the_exit_cost_of_open_positions() -> None:
    chk = check(RULES, state(100_000), equity=100_000)
    open_ = [pos("p1", "ETH/USDT", Direction.LONG, 2.0, 3000, 2900)]  # 2,000 at SL
    marks = {"ETH/USDT": 3000.0}
    # leaving at the stop: 10 bps of the larger of entry (3,000: the entry commission is due on it) and
    # stop notional x 2 lots x 10 = 60
    assert exit_cost_allowance(open_, SPECS, {"ETH/USDT": 10.0}) == pytest.approx(60.0)
    assert exit_cost_allowance(open_, SPECS, {}) == 0.0
    d = guard_order(
        chk, 100_000, open_, SPECS, "BTC/USDT", 60_000, 59_000, 3.0, marks=marks, exit_bps={"ETH/USDT": 10.0}
    )
    # 100,000 - 2,000 - 60 - 95,500 = 2,440 -> 2.44 lots of 1,000
    assert d.verdict is Verdict.REDUCE and d.volume == 2.44
    assert d.worst_case_equity == pytest.approx(97_940.0)


def test_round_trip_cost_from_the_execution_cost_model() -> None:
    m = FixedCostModel(spread_bps=6.0, slippage_bps=2.0, latency_sla_ms=500.0)
    # spread 6 + 2 x slippage 2 = 10, + 2 x commission 3.25 on fills 10 bps worse = 16.5065; above the
    # SLA both sides pay the penalty (+4): 14 + 6.5 x 1.0014 = 20.5091
    assert round_trip_cost_bps(m, "BTC/USDT", Session.LONDON, 0.0, 3.25) == pytest.approx(16.5065)
    assert round_trip_cost_bps(m, "BTC/USDT", Session.LONDON, 800.0, 3.25) == pytest.approx(20.5091)
    # an open position: leaving it (half the market round trip) plus the commission of both sides, since
    # the broker may book the entry commission only at the close: 10/2 + 6.5065, 14/2 + 6.5091 above the SLA
    assert exit_cost_bps(m, "BTC/USDT", Session.LONDON, 0.0, 3.25) == pytest.approx(11.5065)
    assert exit_cost_bps(m, "BTC/USDT", Session.LONDON, 800.0, 3.25) == pytest.approx(13.5091)


def test_stop_in_profit_counts_no_loss() -> None:
    p = pos("p", "BTC/USDT", Direction.LONG, 1.0, 60_000, 61_000)
    assert p.loss_at_sl(1.0) == -1_000
    assert worst_case_equity(100_000, 100_000, [p], SPECS) == 100_000


position_st = st.builds(
    lambda pair, d, vol, entry, frac: pos("p", pair, d, vol, entry, entry * (1 - d.sign * frac)),
    st.sampled_from(["BTC/USDT", "ETH/USDT"]),
    st.sampled_from(list(Direction)),
    st.sampled_from([0.1, 0.5, 1.0, 2.0]),
    st.floats(1_000, 70_000),
    st.floats(0.001, 0.05),
)


@given(
    day_start=st.floats(80_000, 130_000),
    max_eod=st.floats(80_000, 130_000),
    equity_delta=st.floats(-15_000, 15_000),
    positions=st.lists(position_st, max_size=4),
    mark_frac=st.floats(-0.04, 0.04),
    entry=st.floats(100, 70_000),
    dist_frac=st.floats(1e-4, 0.1),
    volume=st.floats(0.01, 50),
    extra=st.floats(0, 200),
    one_step=st.booleans(),
    with_marks=st.booleans(),
    cost_bps=st.floats(0, 100),
    exit_btc=st.floats(0, 50),
    exit_eth=st.floats(0, 50),
    short=st.booleans(),
)
def test_guard_never_allows_a_floor_breach(
    day_start: float,
    max_eod: float,
    equity_delta: float,
    positions: list[Position],
    mark_frac: float,
    entry: float,
    dist_frac: float,
    volume: float,
    extra: float,
    one_step: bool,
    with_marks: bool,
    cost_bps: float,
    exit_btc: float,
    exit_eth: float,
    short: bool,
) -> None:
    """With costs included: every open position stopped out and paying its exit cost, the new order
    stopped out and paying its whole round trip, equity still stays on or above both floors."""
    rules = FtmoRules.one_step() if one_step else RULES
    st_ = FtmoState(0, day_start, max(max_eod, day_start))
    balance = day_start
    marks = {p.pair: p.entry * (1 + mark_frac) for p in positions} if with_marks else None
    # equity = balance + floating at the marks (or the given delta without marks)
    if marks is not None:
        equity = balance + sum(p.pnl_at(marks[p.pair], SPECS[p.pair].contract_size) for p in positions)
    else:
        equity = balance + equity_delta
    chk = check(rules, st_, equity)
    sl = entry * (1 + dist_frac) if short else entry * (1 - dist_frac)
    exit_bps = {"BTC/USDT": exit_btc, "ETH/USDT": exit_eth}
    d = guard_order(
        chk,
        balance,
        positions,
        SPECS,
        "BTC/USDT",
        entry,
        sl,
        volume,
        marks=marks,
        extra_cost=extra,
        cost_bps=cost_bps,
        exit_bps=exit_bps,
    )
    # The true worst case: each open position moves from the mark (or entry) to its SL.
    if d.verdict is Verdict.BLOCK:
        assert d.reason is not None
        return
    assert d.volume <= volume
    if marks is not None:
        true_worst = equity - sum(
            max(0.0, p.pnl_at(marks[p.pair], SPECS[p.pair].contract_size) - p.pnl_at(p.sl, SPECS[p.pair].contract_size))
            for p in positions
        )
    else:
        # without prices: balance plus every stop-out (costs already in equity counted via min)
        true_worst = min(equity, balance) + sum(
            min(0.0, p.pnl_at(p.sl, SPECS[p.pair].contract_size)) for p in positions
        )
    # costs written out from first principles: bps of the notional traded at each fill
    open_exits = sum(exit_bps[p.pair] / 1e4 * p.sl * p.volume * SPECS[p.pair].contract_size for p in positions)
    new_costs = cost_bps / 1e4 * max(entry, sl) * d.volume * BTC.contract_size
    after = true_worst - open_exits - d.volume * loss_per_lot(entry, sl, BTC) - new_costs - extra
    assert after >= chk.floor - 1e-6
    assert after >= max(chk.daily_floor, chk.total_floor) - 1e-6


def test_symbol_spec_floor_volume() -> None:
    assert BTC.floor_volume(0.029999999) == 0.02
    assert BTC.floor_volume(0.03) == 0.03
    assert BTC.floor_volume(0.009) == 0.0
    assert BTC.floor_volume(1000) == 100.0
    with pytest.raises(ValueError):
        SymbolSpec("A/B", "AB", lot_step=0)
