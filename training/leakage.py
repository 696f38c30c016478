"""Leakage check: features at bar t must not change when the bars after t are removed.

For a few seeded cut points, recompute the features on candles truncated right after the cut and
compare that last row with the full run's row at the cut (NaN == NaN). Any difference means a
feature looked ahead. The labels' own timing is structural (datasets.build_series: a label starts
at close[t], the window ends at t) and the splits keep an embargo; this checks the feature code.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.market import Candles


@attrs.frozen
class LeakageResult:
    ok: bool
    checked: int
    detail: str


def check_feature_causality(candles: Candles, full: FeatureMatrix, features: Callable[[Candles], FeatureMatrix],
                            rng: np.random.Generator, cuts: int = 4, min_history: int = 2000) -> LeakageResult:
    n = len(candles)
    if n <= min_history + 1:
        return LeakageResult(False, 0, f"{candles.symbol}: too few bars ({n}) to run the causality check")
    points = np.sort(rng.choice(np.arange(min_history, n - 1), size=min(cuts, n - 1 - min_history), replace=False))
    bad: list[str] = []
    for cut in points.tolist():
        # prefix sums start elsewhere in the truncated run, so allow float noise (rtol 1e-6), not more
        # keep a tail so the truncated run has the same warm-up as the full one
        lo = max(0, cut - min_history)
        part = features(candles.between(int(candles.ts[lo]), int(candles.ts[cut]) + 1))
        row_full = full.values[cut]
        row_part = part.values[-1][[part.names.index(n) for n in full.names]]
        diff = ~((row_full == row_part) | (np.isnan(row_full) & np.isnan(row_part)))
        close = np.isclose(row_full, row_part, rtol=1e-6, atol=1e-9)
        cols = [full.names[j] for j in np.flatnonzero(diff & ~close)]
        if cols:
            bad.append(f"bar {cut}: {', '.join(cols[:5])}")
    if bad:
        return LeakageResult(False, len(points), f"{candles.symbol}: features change when later bars are removed "
                             f"({'; '.join(bad)})")
    return LeakageResult(True, len(points), f"{candles.symbol}: {len(points)} cut points, features causal")
