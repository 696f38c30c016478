"""The run's leakage check: the project's guard (`domain.leakage`) on each pair's candles.

The guard perturbs every bar after a cut and requires every feature up to the cut to stay
bit-identical. Labels' timing is structural (`datasets.build_series`: the label starts at close[t],
the window ends at t) and the folds keep an embargo; this checks the feature code as trained.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.features import warmup_bars
from domain.leakage import check_leakage, default_cuts
from domain.market import Candles


@attrs.frozen
class LeakageResult:
    ok: bool
    checked: int
    detail: str


def check_feature_causality(
    candles: Candles,
    features: Callable[[Candles], FeatureMatrix],
    rng: np.random.Generator,
    cuts: int = 3,
    bars: int = 20_000,
    warmup: int | None = None,
) -> LeakageResult:
    c = candles.tail(bars)
    margin = min(warmup if warmup is not None else warmup_bars(timeframe=c.timeframe), len(c) // 2)
    at = default_cuts(len(c), cuts, rng, margin=margin)
    report = check_leakage(features, c, at, rng)
    if report.passed:
        return LeakageResult(
            True,
            len(at),
            f"{candles.symbol}: guard passed at {len(at)} cut points "
            f"({len(report.verdicts)} features unchanged before each cut)",
        )
    return LeakageResult(
        False, len(at), f"{candles.symbol}: features change when later bars change: {', '.join(report.leaky[:8])}"
    )
