"""The vectorised features equal the straightforward pandas-rolling baseline (bench/pandas_features.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.market_data.bundled import BundledCandles
from domain.features import FeatureParams, compute_features
from domain.market import Candles, Timeframe

_BENCH = Path(__file__).resolve().parents[3] / "bench" / "pandas_features.py"


def _baseline() -> Callable[[Candles, FeatureParams], pd.DataFrame]:
    spec = importlib.util.spec_from_file_location("pandas_features", _BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    baseline: Callable[[Candles, FeatureParams], pd.DataFrame] = mod.pandas_features
    return baseline


def test_same_values_and_same_warm_up_as_pandas_on_real_gap_free_bars(bundled: BundledCandles) -> None:
    pandas_features = _baseline()
    for sym, tf, n in (("ETH/USDT", Timeframe.M1, 20_000), ("BNB/USDT", Timeframe.M5, 15_000)):
        c = bundled.candles(sym, tf).tail(n)
        params = FeatureParams(return_lookbacks=(1, 7), vol_windows=(20, 90))
        fm = compute_features(c, params)
        ref = pandas_features(c, params)
        assert list(ref.columns) == list(fm.names)
        b = ref.to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(fm.values), np.isnan(b))
        np.testing.assert_allclose(fm.values, b, rtol=1e-7, atol=1e-10, equal_nan=True)
