"""The RL environment: no look-ahead (perturbing later bars changes nothing up to the decision), costs
on every entry and exit, impossible actions executed as hold, the vectorised env equals the single one,
and the standardisation is fitted on the training split only."""

from __future__ import annotations

import numpy as np
import pytest

from composition.config import DEFAULT_SHARED_DATA
from domain.execution_costs import FixedCostModel
from domain.features import FeatureParams, compute_features
from domain.market import Candles, Timeframe
from plugins.rl.data import FoldRanges, build_pair
from plugins.rl.env import (
    CLOSE,
    HOLD,
    LONG,
    SHORT,
    EnvConfig,
    Market,
    Segment,
    TradingEnv,
    TradingKernel,
    TradingVecEnv,
)

CANDLES = DEFAULT_SHARED_DATA / "candles" / "binance"
WINDOW = 8


def _real(n: int = 2500) -> Candles:
    if not CANDLES.is_dir():
        pytest.skip("real candles not available")
    from adapters.market_data.bundled import BundledCandles

    return BundledCandles(CANDLES).candles("BTC/USDT", Timeframe.M5).tail(n)


def _fold(c: Candles) -> FoldRanges:
    ts = c.ts
    return FoldRanges((int(ts[1100]), int(ts[1700])), (int(ts[1750]), int(ts[2100])), (int(ts[2150]), int(ts[2450])))


def _perturbed(c: Candles, after: int, rng: np.random.Generator) -> Candles:
    """The same bars up to index `after`, different prices and volumes from after+1 on."""
    k = rng.uniform(0.9, 1.1, len(c) - after - 1)
    scale = np.concatenate([np.ones(after + 1), k])
    o, h, lo, cl = (c.open * scale, c.high * scale, c.low * scale, c.close * scale)
    h = np.maximum.reduce([o, h, lo, cl])
    lo = np.minimum.reduce([o, h, lo, cl])
    return Candles(c.symbol, c.timeframe, c.ts, o, h, lo, cl, c.volume * np.concatenate([np.ones(after + 1), k[::-1]]))


def _run(pi: object, seg: Segment, actions: list[int]) -> tuple[list[np.ndarray], list[float]]:
    env = TradingEnv([pi.market], [seg], EnvConfig(window=WINDOW, episode_bars=10_000, max_drawdown_pct=50))  # type: ignore[attr-defined]
    obs, _ = env.reset(seed=0, options={"segment": 0})
    seen, rewards = [obs], []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        seen.append(obs)
        rewards.append(r)
        assert not term and not trunc
    return seen, rewards


def test_perturbing_later_bars_leaves_observations_and_rewards_up_to_the_decision_identical() -> None:
    c = _real()
    costs = FixedCostModel(6.0, 2.0)
    fold = _fold(c)
    names = compute_features(c.tail(1500), FeatureParams()).names
    base = build_pair(c, FeatureParams(), names, fold, WINDOW, costs, 3.25, 250.0)
    seg = base.segment(0, "val")
    decision = seg.start + 120  # the decision bar T, inside validation (after the training split)
    steps = 200
    rng = np.random.default_rng(5)
    actions = rng.integers(0, 4, steps).tolist()
    obs_a, rew_a = _run(base, seg, actions)
    other = build_pair(_perturbed(c, decision, rng), FeatureParams(), names, fold, WINDOW, costs, 3.25, 250.0)
    obs_b, rew_b = _run(other, other.segment(0, "val"), actions)
    k = decision - seg.start  # step k observes bar T; reward k-1 is marked at close[T]
    for i in range(k + 1):
        np.testing.assert_array_equal(obs_a[i], obs_b[i], err_msg=f"observation {i} read a bar after T")
    np.testing.assert_array_equal(rew_a[:k], rew_b[:k])
    # the perturbation is real: the outcome of the decision at T and later observations do change
    assert rew_a[k] != rew_b[k] or any(r1 != r2 for r1, r2 in zip(rew_a[k:], rew_b[k:], strict=True))
    assert any(not np.array_equal(x, y) for x, y in zip(obs_a[k + 1 :], obs_b[k + 1 :], strict=True))
    # normalisation fitted on the training split only: changing later bars leaves it unchanged
    np.testing.assert_array_equal(base.standardiser.mean, other.standardiser.mean)
    np.testing.assert_array_equal(base.standardiser.std, other.standardiser.std)


def test_standardiser_changes_when_a_training_bar_changes() -> None:
    """The control for the test above: the training split does feed the standardiser."""
    c = _real()
    names = compute_features(c.tail(1500), FeatureParams()).names
    fold = _fold(c)
    a = build_pair(c, FeatureParams(), names, fold, WINDOW, FixedCostModel(6, 2), 3.25, 250.0)
    b = build_pair(
        _perturbed(c, 1300, np.random.default_rng(1)),
        FeatureParams(),
        names,
        fold,
        WINDOW,
        FixedCostModel(6, 2),
        3.25,
        250.0,
    )
    assert not np.array_equal(a.standardiser.mean, b.standardiser.mean)


# ---- mechanics on SYNTHETIC prices (labelled: these check arithmetic, not market behaviour)


def _synthetic(close: np.ndarray, cost: float = 0.001) -> Market:
    n = close.shape[0]
    x = np.tile(np.arange(n, dtype=np.float32)[:, None] / n, (1, 3))
    return Market("SYN/USDT", np.arange(n, dtype=np.int64) * 300_000, x, close.astype(np.float64), np.full(n, cost))


def test_costs_on_entry_and_exit_and_reversal_pays_two_sides() -> None:
    m = _synthetic(np.full(50, 100.0), cost=0.001)
    k = TradingKernel([m], EnvConfig(window=4, episode_bars=100, max_drawdown_pct=50), 1)
    k.start(np.array([0]), [Segment(0, 0, 50)], np.array([5]))
    eq = []
    for a in (LONG, HOLD, SHORT, CLOSE):
        k.step(np.array([a]))
        eq.append(float(k.equity[0]))
    assert eq[0] == pytest.approx(1 - 0.001)
    assert eq[1] == pytest.approx(eq[0])  # flat price, no cost while holding
    assert eq[2] == pytest.approx(eq[1] * (1 - 2 * 0.001))  # close long + open short
    assert eq[3] == pytest.approx(eq[2] * (1 - 0.001))


def test_reward_is_the_equity_change_after_costs_and_marks_the_next_close() -> None:
    close = np.array([100.0] * 10 + [110.0] * 10)
    m = _synthetic(close, cost=0.002)
    k = TradingKernel([m], EnvConfig(window=4, episode_bars=100, max_drawdown_pct=50, reward_scale=100), 1)
    k.start(np.array([0]), [Segment(0, 0, 20)], np.array([9]))  # decide at close 100, next close 110
    r, *_ = k.step(np.array([LONG]))
    assert float(r[0]) == pytest.approx(((1 - 0.002) * 1.1 - 1) * 100)


def test_impossible_actions_are_executed_as_hold() -> None:
    pos = np.array([1.0, -1.0, 0.0, 1.0, 0.0])
    a = TradingKernel.executed(np.array([LONG, SHORT, CLOSE, SHORT, LONG]), pos)
    assert a.tolist() == [HOLD, HOLD, HOLD, SHORT, LONG]


def test_drawdown_limit_ends_the_episode() -> None:
    close = 100.0 * np.cumprod(np.full(60, 0.99))
    m = _synthetic(close, cost=0.0)
    env = TradingEnv([m], [Segment(0, 0, 60)], EnvConfig(window=4, episode_bars=100, max_drawdown_pct=5.0))
    env.reset(seed=1, options={"segment": 0, "start": 3})
    ends = []
    for _ in range(20):
        *_, term, _trunc, info = env.step(LONG)
        ends.append(term)
        if term:
            break
    assert ends[-1] and len(ends) == 6  # 0.99^6 < 0.95 of the peak
    assert info["equity"] < 0.95


def test_vectorised_env_steps_like_single_envs() -> None:
    rng = np.random.default_rng(3)
    m = _synthetic(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))))
    cfg = EnvConfig(window=4, episode_bars=64, max_drawdown_pct=50)
    segs = [Segment(0, 0, 400)]
    venv = TradingVecEnv([m], segs, cfg, 3)
    venv.seed(11)
    obs = venv.reset()
    starts = venv.kernel.g.copy()
    singles = []
    for g in starts.tolist():
        e = TradingEnv([m], segs, cfg)
        o, _ = e.reset(options={"segment": 0, "start": g})
        singles.append(e)
        np.testing.assert_array_equal(o, obs[len(singles) - 1])
    for _ in range(30):
        acts = rng.integers(0, 4, 3)
        out = venv.step(acts)
        vo, r = np.asarray(out[0]), out[1]
        for i, e in enumerate(singles):
            oi, ri, *_ = e.step(int(acts[i]))
            np.testing.assert_allclose(r[i], ri, rtol=1e-6)
            np.testing.assert_array_equal(vo[i], oi)
