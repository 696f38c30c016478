"""From real candles to the environment's arrays: features, standardisation fitted on the training
split only, the product's per-bar execution costs, and the fold's segments.

Features come from `domain.features.compute_features` (causal: row t reads bars <= t), the same code
the supervised models, the backtest and the live cycle use; the columns are the supervised bundle's
feature names, so the agent sees the window those models see. The caller (the composition layer)
loads candles, the cost model and the fold ranges and passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from domain.execution_costs import SESSION_ORDER, CostModel, cost_session_codes
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams, compute_features
from domain.market import Candles
from domain.normalisation import Standardiser
from plugins.rl.env import F64, I64, Market, Segment


@attrs.frozen
class FoldRanges:
    """One pair's walk-forward fold as sample-end timestamps [first, last] (inclusive), as the
    supervised run records them (registry `data_range`)."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]


@attrs.frozen(eq=False)
class PairInput:
    """What the environment needs of one pair: its market arrays, the standardiser fitted on its
    training rows, the raw feature matrix (for the predictor's probabilities) and its fold."""

    market: Market
    standardiser: Standardiser
    features: FeatureMatrix
    fold: FoldRanges

    def segment(self, index: int, split: str) -> Segment:
        first, last = getattr(self.fold, split)
        ts = self.market.ts
        lo = int(np.searchsorted(ts, first, side="left"))
        hi = int(np.searchsorted(ts, last, side="right"))
        return Segment(index, lo, hi)


def one_way_cost(cost_model: CostModel, pair: str, ts: I64, fee_bps: float, latency_ms: float) -> F64:
    """Per bar, what one fill at that bar's close costs as a fraction of price: half the expected
    round trip of the cost model for the bar's session (spread/2 + slippage + latency penalty) plus
    the commission of one side."""
    per_session = np.array([cost_model.expected_round_trip_cost_bps(pair, s, latency_ms) / 2 for s in SESSION_ORDER])
    return np.asarray((per_session[cost_session_codes(ts)] + fee_bps) / 1e4, dtype=np.float64)


def rows_for(ts: I64, first: int, last: int, window: int) -> np.ndarray:
    """Row mask of the feature rows windows ending in [first, last] read."""
    lo = max(0, int(np.searchsorted(ts, first, side="left")) - window + 1)
    hi = int(np.searchsorted(ts, last, side="right"))
    mask = np.zeros(ts.shape[0], dtype=bool)
    mask[lo:hi] = True
    return mask


def standardised(fm: FeatureMatrix, names: Sequence[str], std: Standardiser) -> np.ndarray:
    cols = [fm.names.index(n) for n in names]
    return np.nan_to_num(std.apply(fm.values[:, cols]), nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def build_pair(
    candles: Candles,
    params: FeatureParams,
    names: Sequence[str],
    fold: FoldRanges,
    window: int,
    cost_model: CostModel,
    fee_bps: float,
    latency_ms: float,
) -> PairInput:
    fm = compute_features(candles, params)
    missing = [n for n in names if n not in fm.names]
    if missing:
        raise ValueError(f"{candles.symbol}: features {missing} not computed by these feature params")
    cols = [fm.names.index(n) for n in names]
    std = Standardiser.fit(fm.values[:, cols], rows_for(fm.ts, *fold.train, window), tuple(names))
    x = standardised(fm, names, std)
    cost = one_way_cost(cost_model, candles.symbol, fm.ts, fee_bps, latency_ms)
    close = candles.close[np.searchsorted(candles.ts, fm.ts)]
    return PairInput(Market(candles.symbol, fm.ts, x, close, cost), std, fm, fold)
