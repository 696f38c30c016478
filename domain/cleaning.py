"""Candle cleaning and validation: ordering, duplicates, gaps, OHLC sanity, zero volume, spikes.

Missing bars are REPORTED, never filled: a price that was not traded is not invented. Instead
`valid_window_mask` marks every rolling window that would span a gap as invalid, and the
feature code turns those windows into NaN.
"""

from __future__ import annotations

import attrs
import numpy as np

from domain.market import BoolArray, Candles, FloatArray, IntArray, Timeframe


def gap_flags(ts: IntArray, timeframe: Timeframe) -> BoolArray:
    """True at bar i when bars are missing between bar i-1 and bar i (False at bar 0)."""
    t = np.asarray(ts, dtype=np.int64)
    out = np.zeros(t.shape[0], dtype=np.bool_)
    if t.shape[0] > 1:
        out[1:] = np.diff(t) != timeframe.ms
    return out


class WindowValidity:
    """`valid_window_mask` for many window lengths over one series, sharing one pass over the gaps."""

    def __init__(self, ts: IntArray, timeframe: Timeframe) -> None:
        t = np.asarray(ts, dtype=np.int64)
        self._n = int(t.shape[0])
        flags = gap_flags(t, timeframe)
        self._any_gap = bool(flags.any())
        self._g = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(flags, dtype=np.int64)))
        self._memo: dict[int, BoolArray] = {}

    def mask(self, window: int) -> BoolArray:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        hit = self._memo.get(window)
        if hit is not None:
            return hit
        n = self._n
        out = np.zeros(n, dtype=np.bool_)
        if n >= window:
            if window == 1 or not self._any_gap:
                out[window - 1 :] = True
            else:
                # The window ending at t is clean when no difference ts[k]-ts[k-1], k in (t-w+1, t], is a gap.
                g = self._g
                out[window - 1 :] = (g[window:] - g[1 : n - window + 2]) == 0
        self._memo[window] = out
        return out


def valid_window_mask(ts: IntArray, timeframe: Timeframe, window: int) -> BoolArray:
    """True at bar t when bars t-window+1 .. t exist and are consecutive (no gap inside).

    The first window-1 bars are False (warm-up). A window of 1 is always valid.
    """
    return WindowValidity(ts, timeframe).mask(window)


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


@attrs.frozen
class QualityReport:
    """What cleaning found in one symbol/timeframe series (counts; gaps listed)."""

    symbol: str
    timeframe: str
    rows_in: int
    rows_out: int
    first_ms: int | None
    last_ms: int | None
    was_unsorted: bool
    duplicates: int
    dropped_invalid: int
    ohlc_violations: int
    zero_volume: int
    spikes: int
    spike_ts: tuple[int, ...]
    gaps: tuple[Gap, ...]

    @property
    def missing_bars(self) -> int:
        return sum(g.missing_bars for g in self.gaps)

    @property
    def expected_rows(self) -> int:
        return self.rows_out + self.missing_bars

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "was_unsorted": self.was_unsorted,
            "duplicates": self.duplicates,
            "dropped_invalid": self.dropped_invalid,
            "ohlc_violations": self.ohlc_violations,
            "zero_volume": self.zero_volume,
            "spikes": self.spikes,
            "spike_ts": list(self.spike_ts),
            "missing_bars": self.missing_bars,
            "gaps": [
                {"after_ms": g.after_ms, "before_ms": g.before_ms, "missing_bars": g.missing_bars}
                for g in self.gaps
            ],
        }


@attrs.frozen
class CleaningParams:
    """Spike: a close-to-close log return beyond `spike_mads` robust deviations (MAD x 1.4826)."""

    spike_mads: float = 25.0
    max_spikes_listed: int = 20


def spike_mask(close: FloatArray, mads: float) -> BoolArray:
    """Bars whose log return from the previous close is an outlier against the series' MAD."""
    c = np.asarray(close, dtype=np.float64)
    out = np.zeros(c.shape[0], dtype=np.bool_)
    if c.shape[0] < 3:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(c))
    finite = np.isfinite(r)
    if not finite.any():
        return out
    med = float(np.median(r[finite]))
    mad = float(np.median(np.abs(r[finite] - med))) * 1.4826
    if mad <= 0:
        return out
    out[1:] = finite & (np.abs(r - med) > mads * mad)
    return out


def clean_candles(
    symbol: str,
    timeframe: Timeframe,
    ts: object,
    open_: object,
    high: object,
    low: object,
    close: object,
    volume: object,
    params: CleaningParams = CleaningParams(),
) -> tuple[Candles, QualityReport]:
    """Sort, drop duplicate timestamps (last wins) and unusable rows; report everything else.

    Dropped: rows with a non-finite or non-positive price or a negative/non-finite volume (they
    become gaps, reported as such). Kept but reported: OHLC inconsistencies (high below open/close
    or low above them), zero-volume bars and price spikes (a real crash is a spike too).
    """
    t = np.asarray(ts, dtype=np.int64)
    arrays = [np.asarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)]
    rows_in = int(t.shape[0])
    was_unsorted = bool(rows_in > 1 and np.any(np.diff(t) < 0))
    order, duplicates = sort_dedupe_order(t)
    t = t[order]
    o, h, lo, c, v = (a[order] for a in arrays)
    prices = np.vstack((o, h, lo, c))
    usable = np.isfinite(prices).all(axis=0) & (prices > 0).all(axis=0) & np.isfinite(v) & (v >= 0)
    dropped = int((~usable).sum())
    t = t[usable]
    o, h, lo, c, v = (a[usable] for a in (o, h, lo, c, v))
    ohlc_bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (h < lo)
    spikes = spike_mask(c, params.spike_mads)
    candles = Candles(symbol, timeframe, t, o, h, lo, c, v)
    report = QualityReport(
        symbol=symbol,
        timeframe=timeframe.value,
        rows_in=rows_in,
        rows_out=len(candles),
        first_ms=None if len(candles) == 0 else int(t[0]),
        last_ms=candles.last_ts,
        was_unsorted=was_unsorted,
        duplicates=duplicates,
        dropped_invalid=dropped,
        ohlc_violations=int(ohlc_bad.sum()),
        zero_volume=int((v == 0).sum()),
        spikes=int(spikes.sum()),
        spike_ts=tuple(int(x) for x in t[spikes][: params.max_spikes_listed]),
        gaps=tuple(find_gaps(t, timeframe)),
    )
    return candles, report


def quality_report(candles: Candles, params: CleaningParams = CleaningParams()) -> QualityReport:
    """The report for candles that are already sorted and unique (e.g. loaded from a store)."""
    return clean_candles(
        candles.symbol, candles.timeframe, candles.ts, candles.open, candles.high, candles.low,
        candles.close, candles.volume, params,
    )[1]
