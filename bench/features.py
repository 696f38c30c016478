"""Benchmark: the full feature set for BTC and ETH 1m (2 x 130,708 real bars), bars per second.

Baseline, measured in the same run: a straightforward pandas-rolling implementation of the same
features (bench/pandas_features.py). The two results are compared so the speed-up is for the
same numbers. Run from the repository root: `python bench/features.py`.
Target: >= 500,000 bars/s for the full set on one core.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core, as the target says

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402
from pandas_features import pandas_features  # noqa: E402

from adapters.market_data.bundled import BundledCandles  # noqa: E402
from composition.config import DEFAULT_SHARED_DATA  # noqa: E402
from domain.features import FeatureParams, compute_features  # noqa: E402
from domain.market import Candles, Timeframe  # noqa: E402


def _interleaved_best(fns, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Best time of each function over `rounds`, alternating them so load from other processes
    on a shared machine hits both alike."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main() -> int:
    bundled = BundledCandles(os.environ.get("CANDLES_DIR", DEFAULT_SHARED_DATA / "candles" / "binance"))
    series: list[Candles] = [bundled.candles(s, Timeframe.M1) for s in ("BTC/USDT", "ETH/USDT")]
    bars = sum(len(c) for c in series)
    params = FeatureParams()

    def ours() -> None:
        for c in series:
            compute_features(c, params)

    def baseline() -> None:
        for c in series:
            pandas_features(c, params)

    t0 = time.perf_counter()
    ours()  # warm-up: numba compiles (or loads its cache), imports; excluded from the timing
    jit_s = time.perf_counter() - t0
    baseline()
    t_ours, t_pd = _interleaved_best([ours, baseline], rounds=5)

    worst = 0.0
    for c in series:
        fm = compute_features(c, params)
        ref = pandas_features(c, params)
        assert list(ref.columns) == list(fm.names), (list(ref.columns), fm.names)
        a, b = fm.values, ref.to_numpy(dtype=np.float64)
        both = np.isfinite(a) & np.isfinite(b)
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise SystemExit("the baseline and the vectorised features disagree on where values are defined")
        worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / np.maximum(1.0, np.abs(b[both])))))
    n_features = len(compute_features(series[0], params).names)
    print(f"features: {n_features} columns, {len(series)} series, {bars:,} bars (BTC/USDT + ETH/USDT 1m, real)")
    print(f"JIT warm-up (first call: numba compile or cache load, excluded): {jit_s:.2f} s")
    print(f"ours (numpy+numba): {t_ours:.3f} s  -> {bars / t_ours:,.0f} bars/s  (best of 5, interleaved)")
    print(f"pandas rolling    : {t_pd:.3f} s  -> {bars / t_pd:,.0f} bars/s  (best of 5, interleaved)")
    print(f"speed-up vs pandas (same run): {t_pd / t_ours:.2f}x (target >= 5x); max relative difference {worst:.2e}")
    target = 500_000
    print(f"target >= {target:,} bars/s: {'met' if bars / t_ours >= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
