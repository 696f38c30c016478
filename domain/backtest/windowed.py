"""What the live scan computes on its look-back window, reproduced bit for bit in array form.

The live scan fetches the last `lookback` closed bars and computes the ATR (for the stop distance
and the volatility-regime booster) on that window alone: its first true range is high-low and its
running sums start at the window. The same numbers from a full-series ATR would differ in the last
bits, so here every requested row gets its own right-aligned window, summed in the same order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from domain.market import Candles, VolRegime, atr, volatility_regime

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

REGIME_CODES = {VolRegime.LOW: 0, VolRegime.MEDIUM: 1, VolRegime.HIGH: 2}
_CHUNK = 2048


def window_starts(bars: Candles, rows: IntArray, lookback: int) -> IntArray:
    """First bar of each row's live window: bars with ts >= close(row) - lookback x period."""
    period = bars.timeframe.ms
    now = bars.ts[rows] + period
    return np.searchsorted(bars.ts, now - lookback * period, side="left").astype(np.int64)


def _full_tr(bars: Candles) -> FloatArray:
    """True range of every bar against the previous close (a window's first bar is fixed up by the caller)."""
    h, lo, c = bars.high, bars.low, bars.close
    prev = np.concatenate((c[:1], c[:-1]))
    return np.asarray(np.maximum.reduce([h - lo, np.abs(h - prev), np.abs(lo - prev)]), dtype=np.float64)


def _window_atr(
    bars: Candles, tr_full: FloatArray, rows: IntArray, starts: IntArray, lookback: int, w: int
) -> FloatArray:
    """(m, lookback) right-aligned window ATRs, NaN where undefined or outside the window."""
    m = rows.shape[0]
    cols = np.arange(lookback, dtype=np.int64)
    idx = rows[:, None] - (lookback - 1) + cols[None, :]
    inside = idx >= starts[:, None]
    tr = np.where(inside, tr_full[np.maximum(idx, 0)], 0.0)
    first_col = starts - (rows - (lookback - 1))  # column of each window's first bar
    rr = np.arange(m)
    h0, l0, c0 = bars.high[starts], bars.low[starts], bars.close[starts]
    # domain.market.true_range's first bar: its own close stands in for the previous one
    tr[rr, first_col] = np.maximum.reduce([h0 - l0, np.abs(h0 - c0), np.abs(l0 - c0)])
    cs = np.concatenate((np.zeros((m, 1)), np.cumsum(tr, axis=1)), axis=1)  # cs[:, p+1] = sum to col p
    out = np.full((m, lookback), np.nan)
    if lookback >= w:
        val = (cs[:, w:] - cs[:, :-w]) / w  # ATR ending at col p = w-1 .. lookback-1
        pos = cols[None, w - 1 :] - first_col[:, None]  # window position of col
        out[:, w - 1 :] = np.where(pos >= w - 1, val, np.nan)
    return out


def window_atr_last_and_regime(
    bars: Candles, rows: IntArray, lookback: int, w: int, need_regime: npt.NDArray[np.bool_] | None = None
) -> tuple[FloatArray, IntArray]:
    """Per row: the live window's last ATR and its regime code (0 low, 1 medium, 2 high; -1 not computed)."""
    m = rows.shape[0]
    last = np.full(m, np.nan)
    regime = np.full(m, -1, dtype=np.int64)
    if m == 0:
        return last, regime
    starts = window_starts(bars, rows, lookback)
    need = np.ones(m, dtype=bool) if need_regime is None else need_regime
    tr_full = _full_tr(bars)
    for a in range(0, m, _CHUNK):
        r = rows[a : a + _CHUNK]
        st = starts[a : a + _CHUNK]
        mat = _window_atr(bars, tr_full, r, st, lookback, w)
        last[a : a + _CHUNK] = mat[:, -1]
        nd = need[a : a + _CHUNK]
        full = nd & (r - st + 1 == lookback)
        if bool(full.any()):
            sub = mat[full][:, w - 1 :]  # a full window has exactly lookback-w+1 defined values
            q = np.percentile(sub, [33.3, 66.7], axis=1)
            lv = sub[:, -1]
            code = np.where(lv < q[0], 0, np.where(lv > q[1], 2, 1))
            code = np.where(np.isnan(lv), 1, code)
            regime[a : a + _CHUNK][full] = code
        for k in np.flatnonzero(nd & ~full).tolist():  # short windows: the domain function itself
            i, s = int(r[k]), int(st[k])
            aa = atr(bars.high[s : i + 1], bars.low[s : i + 1], bars.close[s : i + 1], w)
            regime[a + k] = REGIME_CODES[volatility_regime(aa)[0]] if aa.shape[0] else 1
    return last, regime
