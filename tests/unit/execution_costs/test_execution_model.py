"""ExecutionModel / FixedCostModel: sampling, identical batch vs scalar draws, latency SLA.

The distributions here are synthetic (hand-made quantile tables), for mechanics only.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.execution_costs import (
    N_QUANTILES,
    CostDraw,
    Distribution,
    ExecutionModel,
    ExecutionProfile,
    FixedCostModel,
    InvalidCostModel,
    UnknownCostCell,
    cost_session,
    cost_sessions,
)
from domain.market import MS_PER_HOUR, Session

PAIRS = ("BTC/USDT", "ETH/USDT")


def linear_dist(lo: float, hi: float, count: int = 100) -> Distribution:
    q = np.linspace(lo, hi, N_QUANTILES)
    return Distribution(mean=float(q.mean()), quantiles=q, count=count)


def make_model(sla: float = 500.0) -> ExecutionModel:
    profiles = []
    for k, pair in enumerate(PAIRS):
        for j, s in enumerate(Session):
            base = 1.0 + k + j
            profiles.append(ExecutionProfile(pair, s, linear_dist(base, base + 10), linear_dist(0.0, base), "test"))
    return ExecutionModel(profiles, source="test", as_of=dt.date(2025, 1, 2), latency_sla_ms=sla)


def test_distribution_from_samples_exact() -> None:
    d = Distribution.from_samples([0.0, 10.0, np.nan, 20.0])
    assert d.count == 3
    assert d.mean == 10.0
    assert d.p50 == 10.0
    assert d.p90 == pytest.approx(18.0)
    assert d.quantiles[0] == 0.0 and d.quantiles[100] == 20.0


def test_distribution_rejects_bad_values() -> None:
    with pytest.raises(InvalidCostModel, match=">= 0"):
        Distribution.from_samples([-1.0, 2.0])
    with pytest.raises(InvalidCostModel, match="no finite"):
        Distribution.from_samples([np.nan])
    with pytest.raises(InvalidCostModel, match="non-decreasing"):
        Distribution(mean=1.0, quantiles=np.linspace(2, 1, N_QUANTILES), count=3)
    with pytest.raises(InvalidCostModel, match="101"):
        Distribution(mean=1.0, quantiles=[1.0, 2.0], count=3)


def test_sample_is_inverse_cdf_of_quantiles() -> None:
    model = make_model()
    # u = (0.25, 0.9): spread between quantiles of linspace(1, 11) -> 1 + 10*0.25 = 3.5;
    # slippage linspace(0, 1) at 0.9 -> 0.9.
    draws = model._draw(np.array([0]), np.array([[0.25, 0.9]]), np.array([0.0]))
    assert draws.spread_bps[0] == pytest.approx(3.5)
    assert draws.slippage_bps[0] == pytest.approx(0.9)
    assert draws.latency_penalty_bps[0] == 0.0


def test_backtest_batch_and_runtime_scalar_draw_identical_costs() -> None:
    model = make_model()
    rng_orders = np.random.default_rng(7)
    n = 257
    pairs = [PAIRS[i] for i in rng_orders.integers(0, 2, n)]
    sessions = [list(Session)[i] for i in rng_orders.integers(0, 3, n)]
    latency = rng_orders.uniform(0, 1000, n)

    batch = model.sample_many(pairs, sessions, np.random.default_rng(42), latency)
    rng = np.random.default_rng(42)
    scalar = [model.sample(p, s, rng, float(lat)) for p, s, lat in zip(pairs, sessions, latency, strict=True)]

    assert [batch.draw(i) for i in range(n)] == scalar
    assert len({d.spread_bps for d in scalar}) > 200  # real randomness, not a constant
    # a different seed gives different draws (the test could fail)
    other = model.sample_many(pairs, sessions, np.random.default_rng(43), latency)
    assert not np.array_equal(other.spread_bps, batch.spread_bps)


def test_fixed_model_batch_and_scalar_identical_and_consume_same_stream() -> None:
    fixed = FixedCostModel(spread_bps=12.0, slippage_bps=3.0)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    batch = fixed.sample_many(["BTC/USDT"] * 3, [Session.TOKYO] * 3, rng_a, [0.0, 600.0, 500.0])
    scalar = [fixed.sample("BTC/USDT", Session.TOKYO, rng_b, lat) for lat in (0.0, 600.0, 500.0)]
    assert [batch.draw(i) for i in range(3)] == scalar
    assert scalar[1] == CostDraw(12.0, 3.0, 3.0)
    assert scalar[2] == CostDraw(12.0, 3.0, 0.0)
    assert rng_a.random() == rng_b.random()
    assert fixed.kind == "fixed" and "FIXED" in fixed.description
    assert fixed.expected_round_trip_cost_bps("BTC/USDT", Session.TOKYO) == 18.0


def test_latency_penalty_above_sla_only() -> None:
    model = make_model(sla=500.0)
    p90 = model.profile("ETH/USDT", Session.LONDON).slippage.p90
    assert p90 == pytest.approx(3.0 * 0.9)  # slippage linspace(0, 3): base = 1 + 1 + 1
    lat = np.array([0.0, 499.0, 500.0, 500.001, 2000.0])
    draws = model.sample_many(["ETH/USDT"] * 5, [Session.LONDON] * 5, np.random.default_rng(0), lat)
    np.testing.assert_array_equal(draws.latency_penalty_bps, [0.0, 0.0, 0.0, p90, p90])
    # the penalty is added on top of the sampled slippage, which is unchanged
    same = model.sample_many(["ETH/USDT"] * 5, [Session.LONDON] * 5, np.random.default_rng(0), 0.0)
    np.testing.assert_array_equal(draws.slippage_bps, same.slippage_bps)
    np.testing.assert_allclose(draws.one_way_bps - same.one_way_bps, [0, 0, 0, p90, p90], atol=1e-12)
    r = np.random.default_rng(5)
    assert model.sample("ETH/USDT", Session.LONDON, r, 500.0).latency_penalty_bps == 0.0
    assert model.sample("ETH/USDT", Session.LONDON, r, 501.0).latency_penalty_bps == p90
    # the SLA is configurable
    strict = model.with_latency_sla(100.0)
    assert strict.sample("ETH/USDT", Session.LONDON, r, 200.0).latency_penalty_bps == p90


def test_expected_round_trip() -> None:
    model = make_model()
    p = model.profile("BTC/USDT", Session.TOKYO)  # spread linspace(1, 11), slippage linspace(0, 1)
    assert model.expected_round_trip_cost_bps("BTC/USDT", Session.TOKYO) == pytest.approx(6.0 + 2 * 0.5)
    assert model.expected_round_trip_cost_bps("BTC/USDT", Session.TOKYO, latency_ms=900) == pytest.approx(
        p.spread.mean + 2 * (p.slippage.mean + p.slippage.p90)
    )


def test_unknown_cell_and_missing_session() -> None:
    model = make_model()
    with pytest.raises(UnknownCostCell, match="SOL/USDT"):
        model.sample("SOL/USDT", Session.TOKYO, np.random.default_rng(0))
    with pytest.raises(InvalidCostModel, match="missing profiles: BTC/USDT new_york"):
        ExecutionModel(model.profiles[:2], source="x", as_of=dt.date(2025, 1, 1))
    with pytest.raises(InvalidCostModel, match="schema_version"):
        ExecutionModel(model.profiles, source="x", as_of=dt.date(2025, 1, 1), schema_version=9)


def test_cost_sessions() -> None:
    hours = np.array([1, 8, 13, 22])
    got = cost_sessions(hours * MS_PER_HOUR)
    assert got == [Session.TOKYO, Session.LONDON, Session.NEW_YORK, Session.NEW_YORK]
    # 8 UTC is Tokyo and London: the later-opened London applies; 22 UTC is off-hours -> New York
    assert cost_session(8 * MS_PER_HOUR) is Session.LONDON


@st.composite
def distributions(draw: st.DrawFn) -> Distribution:
    xs = draw(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60))
    return Distribution.from_samples(xs)


@settings(max_examples=60, deadline=None)
@given(
    spread=distributions(),
    slip=distributions(),
    seed=st.integers(0, 2**32 - 1),
    latency=st.lists(st.floats(0, 5000), min_size=1, max_size=30),
)
def test_property_costs_nonnegative_and_quantiles_monotone(
    spread: Distribution, slip: Distribution, seed: int, latency: list[float]
) -> None:
    assert np.all(np.diff(spread.quantile_array()) >= 0)
    assert spread.quantiles[0] <= spread.p50 <= spread.p90 <= spread.quantiles[-1]
    profiles = [ExecutionProfile("BTC/USDT", s, spread, slip, "prop") for s in Session]
    model = ExecutionModel(profiles, source="prop", as_of=dt.date(2025, 1, 1))
    n = len(latency)
    d = model.sample_many(["BTC/USDT"] * n, [Session.TOKYO] * n, np.random.default_rng(seed), latency)
    for arr in (d.spread_bps, d.slippage_bps, d.latency_penalty_bps):
        assert np.all(arr >= 0)
    assert np.all(d.spread_bps >= spread.quantiles[0] - 1e-9)
    assert np.all(d.spread_bps <= spread.quantiles[-1] + 1e-9)
