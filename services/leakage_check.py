"""Use case: run the leakage guard over every configured symbol and timeframe of a MarketData."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.features import DEFAULT_PARAMS, FeatureParams, compute_features, warmup_bars
from domain.leakage import LeakageReport, check_leakage, default_cuts
from domain.market import Candles, Timeframe
from ports.errors import UnknownTimeframe
from ports.market_data import MarketData

FeatureFn = Callable[[Candles, FeatureParams], FeatureMatrix]


def check_features_leakage(
    market: MarketData,
    symbols: Sequence[str],
    timeframes: Sequence[Timeframe],
    rng: np.random.Generator,
    params: FeatureParams = DEFAULT_PARAMS,
    bars: int = 20_000,
    cuts: int = 5,
    features: FeatureFn = compute_features,
    on_done: Callable[[LeakageReport], None] | None = None,
) -> list[LeakageReport]:
    """For each symbol/timeframe, the last `bars` bars are checked at `cuts` random cut points
    placed after the warm-up (so that features are defined on both sides of the cut)."""
    reports = []
    for tf in timeframes:
        for sym in symbols:
            try:
                candles = market.candles(sym, tf).tail(bars)
            except UnknownTimeframe:
                continue  # this symbol has no bars of this timeframe (e.g. no BNB 1m file)
            margin = min(warmup_bars(params, tf), max(0, len(candles) // 2))
            at = default_cuts(len(candles), cuts, rng, margin=margin)
            report = check_leakage(lambda c: features(c, params), candles, at, rng)
            reports.append(report)
            if on_done is not None:
                on_done(report)
    return reports
