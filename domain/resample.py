"""Causal resampling of candles to a longer timeframe, and alignment of closed higher bars.

A higher-timeframe bar is built from the base bars whose open time falls in its bucket
(buckets are aligned to the UTC epoch, as Binance aligns 5m/15m/1h/4h/1d bars). By default only
COMPLETE buckets are kept: a bucket with a missing base bar (an exchange outage) is dropped
rather than built from part of its data, and the bucket still forming at the end of the data is
dropped too, so a resampled bar never exists before all of its base bars have closed.
"""

from __future__ import annotations

import numpy as np

from domain.market import Candles, IntArray, InvalidTimeframe, Timeframe


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
            candles.symbol, target, candles.ts, candles.open, candles.high, candles.low,
            candles.close, candles.volume,
        )
    bucket = candles.ts // target.ms
    starts = np.flatnonzero(np.diff(bucket)) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts))
    ends = np.concatenate((starts[1:], np.array([len(candles)], dtype=np.int64)))
    counts = ends - starts
    high = np.maximum.reduceat(candles.high, starts)
    low = np.minimum.reduceat(candles.low, starts)
    volume = np.add.reduceat(candles.volume, starts)
    out_ts = bucket[starts] * target.ms
    opens = candles.open[starts]
    closes = candles.close[ends - 1]
    if complete_only:
        keep = counts == per
        out_ts, opens, high, low, closes, volume = (
            a[keep] for a in (out_ts, opens, high, low, closes, volume)
        )
    return Candles(candles.symbol, target, out_ts, opens, high, low, closes, volume)


def align_closed(higher: Candles, base_ts: IntArray, base_tf: Timeframe, stale_after: int = 1) -> IntArray:
    """For each base bar, the index of the latest `higher` bar closed by the base bar's close, or -1.

    A base bar's features are computed when it closes (open + period); a higher bar is visible
    then only if its own close (open + its period) is at or before that instant. When the latest
    visible higher bar is older than `stale_after` higher periods (its successor is missing, e.g.
    dropped as incomplete around an outage) the index is -1 too, so stale values are not reused.
    """
    base_close = np.asarray(base_ts, dtype=np.int64) + base_tf.ms
    higher_close = higher.ts + higher.timeframe.ms
    idx = np.searchsorted(higher_close, base_close, side="right") - 1
    if idx.shape[0] == 0 or len(higher) == 0:
        return np.full(base_close.shape, -1, dtype=np.int64)
    seen = idx >= 0
    age = base_close - higher_close[np.maximum(idx, 0)]
    fresh = age < stale_after * higher.timeframe.ms
    return np.asarray(np.where(seen & fresh, idx, -1), dtype=np.int64)
