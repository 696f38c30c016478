"""Build the feature set for some pairs and one timeframe into a FeatureStore, reusing cached versions.

The version is `domain.features.build_key(params, inputs)`: a hash of the feature code version,
the parameters and the input candles. When the store already holds that version for every pair,
nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from domain.features import DEFAULT_PARAMS, FeatureParams, build_key, compute_features
from domain.market import Candles, Timeframe
from ports.feature_store import FeatureStore
from ports.market_data import MarketData


@attrs.frozen
class FeatureBuild:
    version: str
    timeframe: str
    pairs: tuple[str, ...]
    rows: int
    cached: bool
    names: tuple[str, ...]


def build_features(
    market: MarketData,
    store: FeatureStore,
    pairs: Sequence[str],
    timeframe: Timeframe,
    params: FeatureParams = DEFAULT_PARAMS,
    on_pair: Callable[[str], None] | None = None,
) -> FeatureBuild:
    inputs: list[Candles] = [market.candles(p, timeframe) for p in pairs]
    version = build_key(params, inputs)
    stored = set(store.keys())
    if all((p, timeframe.value, version) in stored for p in pairs):
        first = store.get(pairs[0], timeframe.value, version)
        rows = sum(len(c) for c in inputs)
        return FeatureBuild(version, timeframe.value, tuple(pairs), rows, True, () if first is None else first.names)
    rows = 0
    names: tuple[str, ...] = ()
    for candles in inputs:
        fm = attrs.evolve(compute_features(candles, params), version=version)
        store.put(fm)
        rows += len(fm)
        names = fm.names
        if on_pair is not None:
            on_pair(candles.symbol)
    return FeatureBuild(version, timeframe.value, tuple(pairs), rows, False, names)
