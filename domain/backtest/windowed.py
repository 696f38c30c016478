"""The live scan's look-back window, per bar.

The live scan fetches the closed bars with ts >= now - lookback x period. Its stop ATR and regime
(domain.volatility) depend on a fixed number of trailing bars, so the batch engine computes them
once over the whole series and only needs to know how many bars each bar's window held.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.market import Candles

IntArray = npt.NDArray[np.int64]


def window_starts(bars: Candles, rows: IntArray, lookback: int) -> IntArray:
    """First bar of each row's live window: bars with ts >= close(row) - lookback x period."""
    period = bars.timeframe.ms
    now = bars.ts[rows] + period
    return np.searchsorted(bars.ts, now - lookback * period, side="left").astype(np.int64)
