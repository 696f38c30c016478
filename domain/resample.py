"""Causal resampling of candles to a longer timeframe, and alignment of closed higher bars.

A higher-timeframe bar is built from the base bars whose open time falls in its bucket
(buckets are aligned to the UTC epoch, as Binance aligns 5m/15m/1h/4h/1d bars). By default only
COMPLETE buckets are kept: a bucket with a missing base bar (an exchange outage) is dropped
rather than built from part of its data, and the bucket still forming at the end of the data is
dropped too, so a resampled bar never exists before all of its base bars have closed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domain.market import Candles, FloatArray, IntArray, InvalidTimeframe, Timeframe


def check_resample(source: Timeframe, target: Timeframe) -> int:
    """Number of source bars per target bar; raises `InvalidTimeframe` if target is not a multiple."""
    if target.ms < source.ms or target.ms % source.ms:
        raise InvalidTimeframe(
            f"cannot resample {source} to {target}: the target must be a whole multiple of the source"
        )
    return target.ms // source.ms


def resample(candles: Candles, target: Timeframe, complete_only: bool = True) -> Candles:
    """OHLCV bars of `target` built from `candles` (open=first, high=max, low=min, close=last, volume=sum)."""
    per = check_resample(candles.timeframe, target)
    if per == 1 or len(candles) == 0:
        return Candles(
            candles.symbol,
            target,
            candles.ts,
            candles.open,
            candles.high,
            candles.low,
            candles.close,
            candles.volume,
        )
    starts = _bucket_starts(np.ascontiguousarray(candles.ts), int(target.ms))
    ends = np.concatenate((starts[1:], np.array([len(candles)], dtype=np.int64)))
    counts = ends - starts
    high, low = np.empty(starts.shape[0]), np.empty(starts.shape[0])
    _bucket_high_low(np.ascontiguousarray(candles.high), np.ascontiguousarray(candles.low), starts, high, low)
    volume = np.add.reduceat(candles.volume, starts)  # numpy's own summation order
    out_ts = (candles.ts[starts] // target.ms) * target.ms
    opens = candles.open[starts]
    closes = candles.close[ends - 1]
    if complete_only:
        keep = counts == per
        out_ts, opens, high, low, closes, volume = (a[keep] for a in (out_ts, opens, high, low, closes, volume))
    return Candles(candles.symbol, target, out_ts, opens, high, low, closes, volume)


def complete_closes(candles: Candles, target: Timeframe) -> tuple[IntArray, FloatArray]:
    """Open times and closes of the bars `resample(candles, target)` keeps (complete buckets only),
    without building their open/high/low/volume: what the trend and momentum features read."""
    per = check_resample(candles.timeframe, target)
    if per == 1 or len(candles) == 0:
        return candles.ts, candles.close
    n = len(candles)
    out_ts, out_close = np.empty(n // per, dtype=np.int64), np.empty(n // per)
    m = complete_closes_into(
        np.ascontiguousarray(candles.ts), np.ascontiguousarray(candles.close), int(target.ms), per, out_ts, out_close
    )
    return out_ts[:m], out_close[:m]


@njit(cache=True)
def complete_closes_into(
    ts: IntArray, close: FloatArray, period: int, per: int, out_ts: IntArray, out_close: FloatArray
) -> int:
    """`complete_closes` written into out_ts/out_close from index 0 (room for len(ts) // per bars, a
    bound: complete buckets hold `per` bars each); returns how many. Compiled callers (the feature
    pass's higher timeframes) call it directly."""
    n = ts.shape[0]
    if n == 0:
        return 0
    starts = _bucket_starts(ts, period)
    nb = starts.shape[0]
    m = 0
    for b in range(nb):
        s = starts[b]
        e = starts[b + 1] if b + 1 < nb else n
        if e - s == per:
            out_ts[m] = (ts[s] // period) * period
            out_close[m] = close[e - 1]
            m += 1
    return m


@njit(cache=True)
def _bucket_starts(ts: IntArray, period: int) -> IntArray:
    """Index of the first bar of each run of equal `ts // period` (ts sorted).

    A bar starts a run when it falls outside [b * period, (b + 1) * period) of the run before
    (b = its first bar's ts // period): the same test as comparing ts // period with the previous
    bar's, with one division per run instead of two per bar."""
    n = ts.shape[0]
    if n == 0:
        return np.zeros(1, dtype=np.int64)  # (as before: one run starting at 0; `resample` returns before)
    out = np.empty(n, dtype=np.int64)
    k = 0
    lo = 0
    hi = 0
    for i in range(n):
        t = ts[i]
        if i == 0 or t < lo or t >= hi:
            lo = (t // period) * period
            hi = lo + period
            out[k] = i
            k += 1
    return out[:k].copy()


@njit(cache=True)
def _bucket_high_low(high: FloatArray, low: FloatArray, starts: IntArray, hi: FloatArray, lo: FloatArray) -> None:
    """Max of high and min of low per bucket, NaN propagating (as np.maximum/np.minimum.reduceat)."""
    n = high.shape[0]
    for b in range(starts.shape[0]):
        s = starts[b]
        e = starts[b + 1] if b + 1 < starts.shape[0] else n
        h = high[s]
        m = low[s]
        for i in range(s + 1, e):
            v = high[i]
            if (v > h or np.isnan(v)) and not np.isnan(h):
                h = v
            w = low[i]
            if (w < m or np.isnan(w)) and not np.isnan(m):
                m = w
        hi[b] = h
        lo[b] = m


def align_closed(higher: Candles, base_ts: IntArray, base_tf: Timeframe, stale_after: int = 1) -> IntArray:
    """For each base bar, the index of the latest `higher` bar closed by the base bar's close, or -1.

    A base bar's features are computed when it closes (open + period); a higher bar is visible
    then only if its own close (open + its period) is at or before that instant. When the latest
    visible higher bar is older than `stale_after` higher periods (its successor is missing, e.g.
    dropped as incomplete around an outage) the index is -1 too, so stale values are not reused.
    """
    base_close = np.ascontiguousarray(np.asarray(base_ts, dtype=np.int64) + base_tf.ms)
    if base_close.shape[0] == 0 or len(higher) == 0:
        return np.full(base_close.shape, -1, dtype=np.int64)
    higher_close = np.ascontiguousarray(higher.ts + higher.timeframe.ms)
    out = np.empty(base_close.shape[0], dtype=np.int64)
    _align_closed_into(higher_close, base_close, int(stale_after * higher.timeframe.ms), out)
    return out


@njit(cache=True)
def _align_closed_into(higher_close: IntArray, base_close: IntArray, max_age: int, out: IntArray) -> None:
    """searchsorted(higher_close, base_close, "right") - 1, walked in one pass over sorted times
    (restarting where the base times go back), -1 where unseen or older than `max_age`."""
    n = base_close.shape[0]
    m = higher_close.shape[0]
    j = 0  # first higher bar closing after the current base close
    for i in range(n):
        b = base_close[i]
        if i > 0 and b < base_close[i - 1]:
            j = 0
        while j < m and higher_close[j] <= b:
            j += 1
        k = j - 1
        out[i] = k if k >= 0 and b - higher_close[k] < max_age else -1
