"""Stop ATR and volatility regime, each a function of a FIXED number of trailing bars.

The live scan computes them on its look-back window, the batch backtest once over the whole series;
because a bar's value depends only on its last `w + 1` bars (ATR) or `w + W` bars (regime), both
give the same number, bit for bit, whenever the window holds those bars (shorter windows: NaN ATR,
medium regime). The arithmetic is element-wise in a fixed order (no cumulative sums, no pairwise
reductions), so it does not depend on where the array starts.

- true range: max(high - low, |high - previous close|, |low - previous close|); NaN for a first bar.
- stop ATR: simple mean of the last `w` true ranges.
- regime: the current ATR's percentile rank among the last `W` ATR values (itself included),
  `100 x (below + equal / 2) / W`: LOW under `low_pct`, HIGH over `high_pct`, else MEDIUM; MEDIUM
  when the current value or any of the `W` is undefined.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from domain.market import VolRegime

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LOW, MEDIUM, HIGH = 0, 1, 2
REGIME_OF_CODE: dict[int, VolRegime] = {LOW: VolRegime.LOW, MEDIUM: VolRegime.MEDIUM, HIGH: VolRegime.HIGH}


def true_ranges(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """True range per bar against the previous close; NaN for the first bar (no previous close)."""
    out = np.full(close.shape[0], np.nan)
    if out.shape[0] > 1:
        prev = close[:-1]
        h, lo = high[1:], low[1:]
        out[1:] = np.maximum(np.maximum(h - lo, np.abs(h - prev)), np.abs(lo - prev))
    return out


def trailing_mean(x: FloatArray, w: int) -> FloatArray:
    """Mean of the last `w` values at each position (NaN for the first w-1), summed left to right."""
    if w < 1:
        raise ValueError(f"window must be >= 1, got {w}")
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n >= w:
        acc = x[: n - w + 1].copy()
        for k in range(1, w):  # w vector adds: the same order for every position
            acc += x[k : n - w + 1 + k]
        out[w - 1 :] = acc / w
    return out


def stop_atr(high: FloatArray, low: FloatArray, close: FloatArray, w: int) -> FloatArray:
    """Simple mean of the last `w` true ranges (defined from the (w+1)-th bar on)."""
    return trailing_mean(true_ranges(high, low, close), w)


def regime_codes(
    a: FloatArray, big_w: int, rows: IntArray | None = None, low_pct: float = 33.3, high_pct: float = 66.7
) -> IntArray:
    """Regime code (0 low, 1 medium, 2 high) of `a[i]` among `a[i-W+1 .. i]`, for `rows` (default all).

    Exact integer counts (2 x below + equal, `_half_ranks`, compiled), the same for the backtest's
    whole series and the live cycle's newest bar; then the percentile and the NaN rule."""
    if big_w < 1:
        raise ValueError(f"regime window must be >= 1, got {big_w}")
    n = a.shape[0]
    idx = (
        np.arange(n, dtype=np.int64) if rows is None else np.arange(n, dtype=np.int64)[np.asarray(rows, dtype=np.int64)]
    )
    code = np.full(idx.shape, MEDIUM, dtype=np.int64)
    ok = idx >= big_w - 1
    if not ok.any():
        return code
    at = np.ascontiguousarray(idx[ok])
    x = np.array(a, dtype=np.float64)  # a writable copy: one compiled signature, whoever owns `a`
    half_ranks = _half_ranks(x, big_w, at)
    nan_seen = np.concatenate(([0], np.cumsum(np.isnan(x), dtype=np.int64)))
    defined = nan_seen[at + 1] - nan_seen[at + 1 - big_w] == 0  # no NaN among the W values
    pct = half_ranks.astype(np.float64) * 50.0 / big_w
    c = np.where(pct < low_pct, LOW, np.where(pct > high_pct, HIGH, MEDIUM))
    code[ok] = np.where(defined, c, MEDIUM)
    return code


@numba.njit(cache=True)
def _half_ranks(a: FloatArray, big_w: int, at: IntArray) -> IntArray:
    """Per row i of `at` (i >= W-1): #(a[j] < a[i]) + #(a[j] <= a[i]) over j in i-W+1 .. i (NaN counts in
    neither)."""
    out = np.empty(at.shape[0], dtype=np.int64)
    for r in range(at.shape[0]):
        i = at[r]
        cur = a[i]
        win = a[i - big_w + 1 : i + 1]
        lt = np.int32(0)  # narrow counters, one per comparison: the loop vectorises
        le = np.int32(0)
        for j in range(big_w):
            v = win[j]
            lt += np.int32(1) if v < cur else np.int32(0)
            le += np.int32(1) if v <= cur else np.int32(0)
        out[r] = lt + le
    return out
