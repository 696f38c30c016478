"""Candle cleaning and validation: ordering, duplicates, gaps, OHLC sanity, zero volume, spikes.

Missing bars are REPORTED, never filled: a price that was not traded is not invented. Instead
`valid_window_mask` marks every rolling window that would span a gap as invalid, and the
feature code turns those windows into NaN.
"""

from __future__ import annotations

import attrs
import numpy as np

from domain.market import BoolArray, IntArray, Timeframe


def gap_flags(ts: IntArray, timeframe: Timeframe) -> BoolArray:
    """True at bar i when bars are missing between bar i-1 and bar i (False at bar 0)."""
    t = np.asarray(ts, dtype=np.int64)
    out = np.zeros(t.shape[0], dtype=np.bool_)
    if t.shape[0] > 1:
        out[1:] = np.diff(t) != timeframe.ms
    return out


def valid_window_mask(ts: IntArray, timeframe: Timeframe, window: int) -> BoolArray:
    """True at bar t when bars t-window+1 .. t exist and are consecutive (no gap inside).

    The first window-1 bars are False (warm-up). A window of 1 is always valid.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    t = np.asarray(ts, dtype=np.int64)
    n = t.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    if n < window:
        return out
    if window == 1:
        out[:] = True
        return out
    # A window ending at t is clean when none of the differences ts[k]-ts[k-1], k in (t-w+1, t], is a gap.
    g = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(gap_flags(t, timeframe), dtype=np.int64)))
    gaps_in = g[window:] - g[1 : n - window + 2]
    out[window - 1 :] = gaps_in == 0
    return out


@attrs.frozen
class Gap:
    """Bars missing between two present bars: `after_ms` is the last bar before the hole."""

    after_ms: int
    before_ms: int
    missing_bars: int

    @property
    def first_missing_ms(self) -> int:
        period = (self.before_ms - self.after_ms) // (self.missing_bars + 1)
        return self.after_ms + period


def find_gaps(ts: IntArray, timeframe: Timeframe) -> list[Gap]:
    """Every hole in a sorted timestamp series (a handful per file, so a list is fine)."""
    t = np.asarray(ts, dtype=np.int64)
    if t.shape[0] < 2:
        return []
    d = np.diff(t)
    where = np.flatnonzero(d > timeframe.ms)
    return [
        Gap(int(t[i]), int(t[i + 1]), int(d[i] // timeframe.ms) - 1) for i in where
    ]


def sort_dedupe_order(ts: IntArray) -> tuple[IntArray, int]:
    """Indices that sort `ts` ascending and keep the LAST row of each duplicated timestamp.

    The last row wins because a later fetch of the same bar is the more complete one (a bar
    fetched while still forming is superseded). Returns (indices, number of dropped duplicates).
    """
    t = np.asarray(ts, dtype=np.int64)
    if t.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.argsort(t, kind="stable")
    st = t[order]
    keep = np.ones(st.shape[0], dtype=np.bool_)
    keep[:-1] = st[1:] != st[:-1]
    return np.asarray(order[keep], dtype=np.int64), int(st.shape[0] - int(keep.sum()))
