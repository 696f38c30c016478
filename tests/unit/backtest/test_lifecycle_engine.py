"""Trade lifecycle rules, the compiled stage 2 == itself run as Python, walk-forward parallel==serial.
Synthetic candles here are labelled as such: they test mechanics only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from domain.backtest.baseline import MomentumSignPredictor
from domain.backtest.engine import EngineConfig, PairData, run
from domain.backtest.lifecycle import ExitReason, resolve_exits
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules
from domain.market import Candles, Timeframe
from domain.trading import SymbolSpec
from services.backtest import Period, run_walk_forward

T0 = 1_735_689_600_000  # 2025-01-01 UTC


def synthetic(
    o: Sequence[float],
    h: Sequence[float],
    lo: Sequence[float],
    c: Sequence[float],
    tf: Timeframe = Timeframe.M5,
    t0: int = T0,
) -> Candles:  # SYNTHETIC candles
    n = len(o)
    return Candles("SYN/USDT", tf, t0 + np.arange(n) * tf.ms, o, h, lo, c, np.ones(n))


def test_both_touched_in_one_bar_is_a_stop_unless_finer_bars_say_otherwise() -> None:
    bars = synthetic([100, 100, 100], [100.5, 103, 101], [99.5, 97, 99], [100, 100, 100])
    e = resolve_exits(bars, np.array([1]), np.array([1]), np.array([98.0]), np.array([102.0]), 2)
    assert e.reason[0] == ExitReason.STOP_LOSS and e.price[0] == 98.0
    # finer 1m bars inside bar 1: the target is hit at minute 2, the stop only at minute 4
    fine = synthetic(
        [100] * 5,
        [100.5, 102.5, 101, 100, 100],
        [99.9, 99.5, 99, 97, 99.5],
        [100] * 5,
        Timeframe.M1,
        T0 + Timeframe.M5.ms,
    )
    e = resolve_exits(bars, np.array([1]), np.array([1]), np.array([98.0]), np.array([102.0]), 2, fine)
    assert e.reason[0] == ExitReason.TAKE_PROFIT and e.price[0] == 102.0
    assert e.at_ms[0] == T0 + Timeframe.M5.ms + 2 * Timeframe.M1.ms


def test_gap_through_stop_fills_at_open_and_time_exit_at_horizon_close() -> None:
    bars = synthetic([100, 95, 100, 100], [100, 96, 100.5, 100.4], [99, 94, 99.8, 99.9], [100, 95, 100.2, 100.1])
    e = resolve_exits(bars, np.array([1]), np.array([1]), np.array([98.0]), np.array([110.0]), 2)
    assert e.reason[0] == ExitReason.STOP_LOSS and e.price[0] == 95.0  # gapped through: the open
    e = resolve_exits(bars, np.array([2]), np.array([1]), np.array([90.0]), np.array([110.0]), 2)
    assert e.reason[0] == ExitReason.TIME and e.price[0] == 100.1 and e.bar[0] == 3
    e = resolve_exits(bars, np.array([3]), np.array([-1]), np.array([110.0]), np.array([90.0]), 2)
    assert e.reason[0] == ExitReason.END_OF_DATA


def _random_pairs(seed: int, n: int = 3000) -> list[PairData]:  # SYNTHETIC random walks
    rng = np.random.default_rng(seed)
    out = []
    for k in range(2):
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
        o = np.concatenate(([100.0], c[:-1]))
        h = np.maximum(o, c) * (1 + rng.uniform(0, 0.002, n))
        lo = np.minimum(o, c) * (1 - rng.uniform(0, 0.002, n))
        bars = Candles(f"S{k}/USDT", Timeframe.M5, T0 + np.arange(n) * Timeframe.M5.ms, o, h, lo, c, np.ones(n))
        p = MomentumSignPredictor(scale=1.2).probs(c)
        out.append(PairData(bars.symbol, bars, {"momentum": p}, SymbolSpec(bars.symbol, bars.symbol)))
    return out


CFG = EngineConfig(
    confidence=ConfidenceParams(weights=EnsembleWeights({"momentum": 1.0})),
    horizon_bars=6,
    fee_bps=3.0,
    latency_ms=900.0,
    risk_pct=1.5,
    rules=FtmoRules.two_step(daily_buffer_pct=2.0, total_buffer_pct=4.0),
)


def test_the_compiled_kernel_equals_itself_run_as_python() -> None:
    """NUMBA_DISABLE_JIT=1 runs the very same kernel as Python: every signal, block, trade and summary
    figure of each fixture (random walks; near a floor; margin-capped sizes; floor crossings that halt
    and flatten) is identical to the bit."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from tests.unit.backtest.jit_cases import CASES, outputs

    root = Path(__file__).resolve().parents[3]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "python.npz"
        env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
        subprocess.run(
            [sys.executable, "-m", "tests.unit.backtest.jit_cases", str(path)], cwd=root, env=env, check=True
        )
        python = dict(np.load(path))
    flattened = 0
    for name, fn in CASES.items():
        res = fn()
        got = outputs(res)
        assert res.trades["pnl"].shape[0] > 0 or name.startswith("near_floor"), name
        for k, v in got.items():
            assert np.array_equal(v, python[f"{name}/{k}"]), (name, k)
        flattened += int((res.trades["exit_reason"] == ExitReason.FLATTEN).sum())
    assert flattened > 0  # the flatten case did close positions at a floor crossing


def test_walk_forward_in_processes_equals_serial() -> None:
    periods = [Period(i, tuple(_random_pairs(10 + i, 1500))) for i in range(3)]
    serial = run_walk_forward(periods, CFG, FixedCostModel(5, 2), seed=5, workers=1)
    parallel = run_walk_forward(periods, CFG, FixedCostModel(5, 2), seed=5, workers=2)
    assert [r.final_balance for r in serial] == [r.final_balance for r in parallel]
    for s, p in zip(serial, parallel, strict=True):
        for k in s.trades:
            assert np.array_equal(s.trades[k], p.trades[k])


def test_margin_caps_the_batch_engine() -> None:
    """Tight stops and risk 1.5%: the free margin, not the risk budget, sets the size (1:1 no leverage, and
    a mechanics-only 2x notional), and an open position can leave no room for a second one
    (insufficient_margin blocks)."""
    import attrs

    from domain.backtest.engine import BLOCK_CODES
    from domain.signals import BlockReason
    from domain.sizing import margin_price

    costs = FixedCostModel(5, 2)
    cfg = attrs.evolve(CFG, rules=FtmoRules())  # FTMO's own buffers: the guard leaves room for margin to bind
    for rate in (1.0, 2.0):
        pairs = [attrs_evolve_spec(p, rate) for p in _random_pairs(7)]
        a = run(pairs, cfg, costs, np.random.default_rng(7))
        margin_blocks = int((a.blocks["reason"] == BLOCK_CODES[BlockReason.INSUFFICIENT_MARGIN]).sum())
        assert margin_blocks > 0
        tr = a.trades
        binding = 0
        # every entry's margin (at the margin price) fits the equity at entry, and the risk budget holds
        rt = 5 + 2 * 2 + 2 * 3.0  # the fixed model's round trip + commission on both sides
        for i in range(tr["pnl"].shape[0]):
            spec = pairs[int(tr["pair"][i])].spec
            m = spec.margin_for(float(tr["volume"][i]), margin_price(float(tr["entry"][i]), rt))
            assert m <= float(tr["equity_at_entry"][i]) + 1e-6
            binding += m > 0.99 * float(tr["equity_at_entry"][i])
            assert abs(float(tr["entry"][i]) - float(tr["sl"][i])) * float(tr["volume"][i]) <= (
                float(tr["equity_at_entry"][i]) * CFG.risk_pct / 100 + 1e-6
            )
        assert binding > 0  # the margin cap set some sizes


def attrs_evolve_spec(p: PairData, rate: float) -> PairData:
    import attrs

    # max_lot lifted: at a price near 100 the default 100 lots would cap every size first
    return attrs.evolve(p, spec=attrs.evolve(p.spec, margin_rate=rate, max_lot=1e6))
