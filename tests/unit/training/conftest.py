from __future__ import annotations

import numpy as np
import pytest
import torch

from domain.feature_matrix import FeatureMatrix
from domain.market import Candles, Timeframe


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def synthetic_candles(n: int, seed: int = 0, gap_at: int | None = None, gap_bars: int = 3) -> Candles:
    """SYNTHETIC random-walk 5m candles for mechanics tests (never market data)."""
    rng = np.random.default_rng(seed)
    steps = np.ones(n, dtype=np.int64)
    if gap_at is not None:
        steps[gap_at] = gap_bars + 1
    ts = (np.cumsum(steps) - 1) * Timeframe.M5.ms
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    return Candles("SYN/USDT", Timeframe.M5, ts, open_, high, low, close, rng.uniform(1, 2, n))


def toy_matrix(c: Candles, f: int = 3, seed: int = 1) -> FeatureMatrix:
    rng = np.random.default_rng(seed)
    return FeatureMatrix(c.symbol, "5m", "toy", c.ts, tuple(f"f{i}" for i in range(f)), rng.normal(size=(len(c), f)))
