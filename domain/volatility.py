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

    Exact integer counts: 2 x below + equal, accumulated over the W trailing offsets in W contiguous
    passes over the series (no per-bar window gathered). A few `rows` (the live cycle's newest bar)
    are counted on their own windows instead: the same integers, without the passes over every bar."""
    if big_w < 1:
        raise ValueError(f"regime window must be >= 1, got {big_w}")
    n = a.shape[0]
    if rows is not None:
        idx = np.arange(n, dtype=np.int64)[np.asarray(rows, dtype=np.int64)]  # code[rows]'s indexing rules
        if idx.size <= _FEW_ROWS:
            return _regime_codes_at(a, big_w, idx, low_pct, high_pct)
    code = np.full(n, MEDIUM, dtype=np.int64)
    if n >= big_w:
        cur = a[big_w - 1 :]
        m = cur.shape[0]
        half_ranks = np.zeros(m, dtype=np.int64)  # 2 x below + equal = #(<) + #(<=)
        acc = np.zeros(m, dtype=np.int8)  # narrow partial sums (< 128 per flush) keep the passes cheap
        hit = np.empty(m, dtype=np.bool_)
        hit8 = hit.view(np.int8)
        for k in range(big_w):
            past = a[big_w - 1 - k : n - k]
            np.less(past, cur, out=hit)
            np.add(acc, hit8, out=acc)
            np.less_equal(past, cur, out=hit)
            np.add(acc, hit8, out=acc)
            if k % 60 == 59:
                np.add(half_ranks, acc, out=half_ranks)
                acc[:] = 0
        np.add(half_ranks, acc, out=half_ranks)
        nan_seen = np.concatenate(([0], np.cumsum(np.isnan(a), dtype=np.int64)))
        defined = nan_seen[big_w:] - nan_seen[: n - big_w + 1] == 0  # no NaN among the W values
        pct = half_ranks.astype(np.float64) * 50.0 / big_w
        c = np.where(pct < low_pct, LOW, np.where(pct > high_pct, HIGH, MEDIUM))
        code[big_w - 1 :] = np.where(defined, c, MEDIUM)
    return code if rows is None else code[np.asarray(rows, dtype=np.int64)]


_FEW_ROWS = 64  # up to this many rows, regime_codes counts each row's own window


def _regime_codes_at(a: FloatArray, big_w: int, idx: IntArray, low_pct: float, high_pct: float) -> IntArray:
    """regime_codes at the rows `idx` (in range), each from its own W trailing values: the same
    integer counts (2 x below + equal), the same percentile arithmetic and NaN rule."""
    code = np.full(idx.shape, MEDIUM, dtype=np.int64)
    ok = idx >= big_w - 1
    if not ok.any():
        return code
    at = idx[ok]
    win = a[at[:, None] + np.arange(1 - big_w, 1, dtype=np.int64)]  # (rows, W): a[i-W+1 .. i]
    cur = a[at][:, None]
    half_ranks = np.count_nonzero(win < cur, axis=1) + np.count_nonzero(win <= cur, axis=1)
    defined = ~np.isnan(win).any(axis=1)
    pct = half_ranks.astype(np.float64) * 50.0 / big_w
    c = np.where(pct < low_pct, LOW, np.where(pct > high_pct, HIGH, MEDIUM))
    code[ok] = np.where(defined, c, MEDIUM)
    return code
