"""Engine runs on synthetic fixtures (random walks, mechanics only), by name, so that a test can run
the very same case in a process with NUMBA_DISABLE_JIT=1 and compare the two results bit for bit.

`python -m tests.unit.backtest.jit_cases OUT.npz` writes every case's outputs to OUT.npz."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import attrs
import numpy as np

from domain.backtest.engine import EngineResult, PairData, run
from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules
from domain.market import Candles
from domain.settings import PositionLimits
from tests.unit.backtest.test_lifecycle_engine import CFG, _random_pairs, attrs_evolve_spec


def _near_floor(above: float) -> EngineResult:
    rules = CFG.rules
    start = rules.total_floor(rules.initial_balance) + above
    return run(_random_pairs(4, n=1500), CFG, FixedCostModel(5, 2), np.random.default_rng(4), start_balance=start)


def _margin(rate: float) -> EngineResult:
    pairs = [attrs_evolve_spec(p, rate) for p in _random_pairs(7)]
    return run(pairs, attrs.evolve(CFG, rules=FtmoRules()), FixedCostModel(5, 2), np.random.default_rng(7))


def _gappy(seed: int, n: int) -> list[PairData]:  # SYNTHETIC: random walks whose opens gap 2 % now and then
    rng = np.random.default_rng(seed)
    out = []
    for p in _random_pairs(seed, n):
        b = p.bars
        jump = np.where(rng.uniform(size=n) < 0.01, rng.choice([-0.02, 0.02], size=n), 0.0)
        o = b.open * (1 + jump)
        bars = Candles(b.symbol, b.timeframe, b.ts, o, np.maximum(b.high, o), np.minimum(b.low, o), b.close, b.volume)
        out.append(attrs.evolve(p, bars=bars))
    return out


def _flatten() -> EngineResult:
    # gaps through the stops take equity below a 0.5 % daily floor at bar closes: halt and flatten
    rules = FtmoRules.two_step(daily_buffer_pct=0.5, total_buffer_pct=3.0)
    cfg = attrs.evolve(
        CFG, rules=rules, flatten_on_floor=True, risk_pct=2.0, horizon_bars=72, limits=PositionLimits(3, 2)
    )
    return run(_gappy(9, 2500), cfg, FixedCostModel(5, 2), np.random.default_rng(9))


def _seed(seed: int) -> EngineResult:
    return run(_random_pairs(seed), CFG, FixedCostModel(5, 2), np.random.default_rng(seed))


CASES: dict[str, Callable[[], EngineResult]] = {
    **{f"seed{s}": partial(_seed, s) for s in (1, 2, 3)},
    **{f"near_floor_{a}": partial(_near_floor, a) for a in (0.0, 0.0017, 0.01, 250.0)},
    **{f"margin_{r}": partial(_margin, r) for r in (1.0, 2.0)},
    "flatten": _flatten,
}


def outputs(res: EngineResult) -> dict[str, np.ndarray]:
    out = {
        f"{part}.{k}": np.asarray(v) for part in ("signals", "blocks", "trades") for k, v in getattr(res, part).items()
    }
    out["summary"] = np.array(
        [res.final_balance, res.breach_episodes, res.ftmo_breach_episodes, res.breach_halt_days], dtype=np.float64
    )
    return out


def main(path: str) -> None:
    arrays: dict[str, Any] = {f"{name}/{k}": v for name, fn in CASES.items() for k, v in outputs(fn()).items()}
    np.savez(path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
