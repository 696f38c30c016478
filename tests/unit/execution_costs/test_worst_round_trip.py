"""The guard's cost bound: `worst_round_trip_cost_bps` is never exceeded by any sampled fill.

Distributions here are synthetic (hypothesis-made samples and hand-made quantile tables), for the
mechanics only.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.execution_costs import (
    N_QUANTILES,
    Distribution,
    ExecutionModel,
    ExecutionProfile,
    FixedCostModel,
    _interp_uniform,
)
from domain.guard import DEFAULT_COST_ALLOWANCE, DEFAULT_FEE_BPS, exit_cost_bps, round_trip_cost_bps
from domain.market import Session

costs = st.floats(0.0, 500.0, allow_nan=False)
samples = st.lists(st.one_of(costs, st.sampled_from([0.0, 1e-9, 3.0, 499.999])), min_size=1, max_size=60)


def _model(spreads: list[list[float]], slips: list[list[float]], sla: float = 500.0) -> ExecutionModel:
    profiles = [
        ExecutionProfile("BTC/USDT", s, Distribution.from_samples(sp), Distribution.from_samples(sl), "test")
        for s, sp, sl in zip(Session, spreads, slips, strict=False)
    ]
    return ExecutionModel(profiles, source="test", as_of=dt.date(2025, 1, 2), latency_sla_ms=sla)


def test_worst_round_trip_exact_numbers() -> None:
    q = np.linspace(1.0, 11.0, N_QUANTILES)  # spread 1..11 bps, mean 6
    s = np.linspace(0.0, 2.0, N_QUANTILES)  # slippage 0..2 bps, mean 1, p90 1.8
    p = [ExecutionProfile("BTC/USDT", x, Distribution(6.0, q, 100), Distribution(1.0, s, 100), "t") for x in Session]
    m = ExecutionModel(p, source="t", as_of=dt.date(2025, 1, 2), latency_sla_ms=500.0)
    # 11 + 2 x 2 = 15 of market cost; commission 2 x 3.25 on fills worsened by 15 bps: 6.50975
    assert m.worst_round_trip_cost_bps("BTC/USDT", Session.TOKYO) == pytest.approx(15.0)
    assert m.worst_round_trip_cost_bps("BTC/USDT", Session.TOKYO, 0.0, 3.25) == pytest.approx(21.50975)
    # above the SLA each side adds the p90 slippage: 15 + 3.6 = 18.6
    assert m.worst_round_trip_cost_bps("BTC/USDT", Session.TOKYO, 900.0, 0.0) == pytest.approx(18.6)
    # the mean stays what it was, for reporting: 6 + 2 x 1
    assert m.expected_round_trip_cost_bps("BTC/USDT", Session.TOKYO) == pytest.approx(8.0)
    # what the guard charges: the bound, on a new order and (less the entry's market half) on an open one
    assert round_trip_cost_bps(m, "BTC/USDT", Session.TOKYO, 0.0, 3.25) == pytest.approx(21.50975)
    assert exit_cost_bps(m, "BTC/USDT", Session.TOKYO, 0.0, 3.25) == pytest.approx(21.50975 - 7.5)


def test_fixed_costs_are_their_own_bound() -> None:
    f = FixedCostModel(spread_bps=6.0, slippage_bps=2.0, latency_sla_ms=500.0)
    assert (
        f.worst_round_trip_cost_bps("BTC/USDT", Session.LONDON)
        == f.expected_round_trip_cost_bps("BTC/USDT", Session.LONDON)
        == 10.0
    )
    assert f.worst_round_trip_cost_bps("BTC/USDT", Session.LONDON, 800.0, 3.25) == pytest.approx(
        14.0 + 6.5 * (1 + 14.0 / 1e4)
    )
    # the default allowance: 10 + 2 x 5 + 2 x 3.25 on fills 20 bps worse = 26.513
    assert round_trip_cost_bps(DEFAULT_COST_ALLOWANCE, "X/USDT", Session.TOKYO, 0.0, DEFAULT_FEE_BPS) == pytest.approx(
        26.513
    )


@settings(max_examples=200, deadline=None)
@given(
    row=st.lists(costs, min_size=N_QUANTILES, max_size=N_QUANTILES),
    u=st.lists(
        st.one_of(st.floats(0.0, 1.0, exclude_max=True), st.just(np.nextafter(1.0, 0.0))), min_size=1, max_size=40
    ),
)
def test_inverse_cdf_never_leaves_the_measured_range(row: list[float], u: list[float]) -> None:
    table = np.sort(np.asarray(row))[None, :]
    v = _interp_uniform(table, np.zeros(len(u), dtype=np.int64), np.asarray(u))
    assert bool(np.all(v <= table[0, -1])) and bool(np.all(v >= table[0, 0]))


@settings(max_examples=150, deadline=None)
@given(
    spreads=st.lists(samples, min_size=3, max_size=3),
    slips=st.lists(samples, min_size=3, max_size=3),
    latency=st.sampled_from([0.0, 500.0, 500.1, 5000.0]),
    fee=st.sampled_from([0.0, 3.25, 10.0]),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
)
def test_no_draw_exceeds_the_worst_round_trip(
    spreads: list[list[float]], slips: list[list[float]], latency: float, fee: float, seed: int, n: int
) -> None:
    m = _model(spreads, slips)
    rng = np.random.default_rng(seed)
    sessions = [tuple(Session)[i] for i in rng.integers(0, 3, n)]
    d = m.sample_many(["BTC/USDT"] * n, sessions, rng, latency)
    one = [m.sample("BTC/USDT", sessions[0], np.random.default_rng(seed), latency)]
    bound = np.array([m.worst_round_trip_cost_bps("BTC/USDT", s, latency, fee) for s in sessions])
    # both sides of a trade pay at most the entry's full one-way cost (the exit pays no penalty)
    rt = d.spread_bps + 2 * (d.slippage_bps + d.latency_penalty_bps)
    assert bool(np.all(rt + 2 * fee * (1 + rt / 1e4) <= bound))
    assert one[0].spread_bps + 2 * (one[0].slippage_bps + one[0].latency_penalty_bps) <= bound[0]


@settings(max_examples=300, deadline=None)
@given(
    entry=st.floats(1.0, 1e5),
    stop_pct=st.floats(0.01, 20.0),
    long=st.booleans(),
    spread=st.floats(0.0, 300.0),
    slip=st.floats(0.0, 300.0),
    fee=st.sampled_from([0.0, 3.25, 25.0]),
    vol=st.floats(0.01, 50.0),
)
def test_a_stopped_trade_never_costs_more_than_the_guard_charged(
    entry: float, stop_pct: float, long: bool, spread: float, slip: float, fee: float, vol: float
) -> None:
    """Fill arithmetic of the simulated broker and the batch engine (entry at the quoted price plus its
    one-way cost, exit at the stop less half spread and slippage, commission on both fills) against
    the guard's charge: loss at SL + worst round trip on the larger of entry and stop notional."""
    sign = 1 if long else -1
    sl = entry * (1 - sign * stop_pct / 100)
    one_way = spread / 2 + slip
    entry_fill = entry * (1 + sign * one_way / 1e4)
    exit_fill = sl * (1 - sign * one_way / 1e4)
    loss = -(sign * (exit_fill - entry_fill) * vol - fee / 1e4 * (entry_fill + exit_fill) * vol)
    bound_bps = FixedCostModel(spread, slip).worst_round_trip_cost_bps("BTC/USDT", Session.TOKYO, 0.0, fee)
    charged = abs(entry - sl) * vol + bound_bps / 1e4 * max(entry, sl) * vol
    assert loss <= charged * (1 + 1e-12)
