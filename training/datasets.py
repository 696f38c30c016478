"""Supervised windows over one pair's features: labels, walk-forward splits with an embargo, batches.

A sample is identified by its *end bar* t: the model sees feature rows t-L+1..t (L = seq_len) and
is scored on the move from close[t] to close[t+h]. A sample exists only when every bar from t-L+1
to t+h is present and consecutive (no window or label crosses a data gap) and every feature in
the window is finite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from domain.cleaning import valid_window_mask
from domain.errors import ConfigError, DataError
from domain.feature_matrix import FeatureMatrix
from domain.market import Candles, atr

MAX_SYNTHETIC_SHARE = 0.20  # synthetic rows are refused above this share of a training split
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@attrs.frozen(eq=False)
class PairSeries:
    """One pair's bar-aligned features and labels (NaN label where the horizon is not available)."""

    pair: str
    ts: I64
    names: tuple[str, ...]
    features: F64  # raw, shape (n, F)
    close: F64
    future_return: F64  # (close[t+h] - close[t]) / close[t]
    direction: F64  # 1.0 up, 0.0 not up, NaN unknown
    trend_strength: F64  # (close[t+h] - close[t]) / ATR[t]
    last_return: F64  # close[t] / close[t-1] - 1 (the persistence baseline's input)
    sample_ok: npt.NDArray[np.bool_]  # t may end a sample


def build_series(
    candles: Candles, matrix: FeatureMatrix, seq_len: int, horizon: int, atr_window: int = 14
) -> PairSeries:
    """Align a feature matrix to its candles and label every bar; vectorised, no loop over bars."""
    if seq_len < 1 or horizon < 1:
        raise ValueError("seq_len and horizon must be >= 1")
    pos = np.searchsorted(candles.ts, matrix.ts)
    pos = np.clip(pos, 0, max(len(candles) - 1, 0))
    if len(candles) == 0 or not np.array_equal(candles.ts[pos], matrix.ts):
        raise ValueError(f"{matrix.pair}: feature rows do not match candle timestamps")
    ts = matrix.ts
    close = candles.close[pos]
    a = atr(candles.high, candles.low, candles.close, atr_window)[pos]
    n = ts.shape[0]
    fut = np.full(n, np.nan)
    trend = np.full(n, np.nan)
    # the label spans bars t..t+h: valid only when those h+1 bars are consecutive
    label_ok = np.zeros(n, dtype=np.bool_)
    contiguous = valid_window_mask(ts, candles.timeframe, horizon + 1)
    label_ok[: n - horizon] = contiguous[horizon:]
    diff = np.full(n, np.nan)
    diff[: n - horizon] = close[horizon:] - close[: n - horizon]
    fut[label_ok] = diff[label_ok] / close[label_ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        trend[label_ok] = diff[label_ok] / a[label_ok]
    direction = np.where(label_ok, (diff > 0).astype(np.float64), np.nan)
    last = np.full(n, np.nan)
    last[1:] = close[1:] / close[:-1] - 1.0
    last[1:][valid_window_mask(ts, candles.timeframe, 2)[1:] == 0] = np.nan

    finite_row = np.all(np.isfinite(matrix.values), axis=1) & np.isfinite(trend)
    # rolling "all finite and consecutive" over the L rows of the window
    c = np.concatenate(([0], np.cumsum((~np.isfinite(matrix.values)).any(axis=1))))
    bad_in_window = np.zeros(n, dtype=np.int64)
    if n >= seq_len:
        bad_in_window[seq_len - 1 :] = c[seq_len:] - c[: n - seq_len + 1]
    window_ok = valid_window_mask(ts, candles.timeframe, seq_len) & (bad_in_window == 0)
    ok = window_ok & label_ok & finite_row & np.isfinite(last)
    return PairSeries(matrix.pair, ts, tuple(matrix.names), matrix.values, close, fut, direction, trend, last, ok)


@attrs.frozen
class Fold:
    """End-bar index arrays (into one PairSeries) of a walk-forward fold."""

    train: I64
    val: I64
    test: I64
    embargo_bars: int


def walk_forward_folds(
    series: PairSeries, n_folds: int, val_frac: float, test_frac: float, seq_len: int, horizon: int
) -> list[Fold]:
    """Expanding-window folds in time order; the last fold's test block ends at the last sample.

    Each fold k tests on its own consecutive block of `test_frac` of the bars (fold n_folds-1 is the
    most recent); validation is the `val_frac` block right before it, training is everything
    earlier. Between blocks `seq_len + horizon` bars are dropped (the embargo), so no training label
    reaches into validation and no validation window reuses a training bar's label period.
    """
    n = series.ts.shape[0]
    emb = seq_len + horizon
    idx = np.flatnonzero(series.sample_ok)
    folds = []
    test_len = int(n * test_frac)
    val_len = int(n * val_frac)
    for k in range(n_folds):
        test_end = n - (n_folds - 1 - k) * test_len
        test_start = test_end - test_len
        val_start = test_start - emb - val_len
        train_end = val_start - emb
        if train_end <= emb:
            raise DataError(f"{series.pair}: too few bars ({n}) for {n_folds} walk-forward folds; use fewer --folds")
        # a sample ending at t uses labels up to t+h: keep it inside its own block
        tr = idx[(idx + horizon < train_end)]
        va = idx[(idx >= val_start) & (idx + horizon < test_start - emb)]
        te = idx[(idx >= test_start) & (idx + horizon < test_end)]
        folds.append(Fold(tr.astype(np.int64), va.astype(np.int64), te.astype(np.int64), emb))
    return folds


def rows_used(ends: I64, seq_len: int) -> I64:
    """Unique feature rows covered by windows ending at `ends`."""
    offs = np.arange(-seq_len + 1, 1)
    return np.unique((ends[:, None] + offs[None, :]).ravel())


def class_balance(series: PairSeries, ends: I64) -> float:
    """Share of 'up' labels among the samples."""
    return float(np.mean(series.direction[ends])) if ends.size else float("nan")


@attrs.frozen(eq=False)
class WindowSet:
    """Samples of one or more pairs ready for batching: standardised features stacked per pair."""

    x: F32  # (rows, F), all pairs concatenated
    ends: I64  # global row index of each sample's end bar
    symbol: I64  # symbol id of each sample
    direction: F32
    trend: F32
    seq_len: int
    # True for a GAN sample (issue 17): only ever set on a training split, None = all real
    synthetic: npt.NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return int(self.ends.shape[0])

    @property
    def synthetic_count(self) -> int:
        return 0 if self.synthetic is None else int(self.synthetic.sum())

    def windows(self, sel: I64 | slice) -> F32:
        e = self.ends[sel]
        offs = np.arange(-self.seq_len + 1, 1)
        out: F32 = self.x[e[:, None] + offs[None, :]]
        return out

    def last_rows(self) -> F32:
        return self.x[self.ends]

    def batches(self, batch_size: int, rng: np.random.Generator | None) -> Iterator[I64]:
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        for s in range(0, len(self), batch_size):
            yield order[s : s + batch_size]


def window_set(parts: Sequence[tuple[F32, PairSeries, I64, int]], seq_len: int) -> WindowSet:
    """Stack (standardised features, series, sample ends, symbol id) of several pairs into one set."""
    xs, ends, syms, dirs, trends = [], [], [], [], []
    offset = 0
    for x, series, e, sym in parts:
        xs.append(x)
        ends.append(e + offset)
        syms.append(np.full(e.shape[0], sym, dtype=np.int64))
        dirs.append(series.direction[e].astype(np.float32))
        # clip the trend target: a few crash bars at 20+ ATR would dominate a squared loss
        trends.append(np.clip(series.trend_strength[e], -5.0, 5.0).astype(np.float32))
        offset += x.shape[0]
    return WindowSet(
        np.ascontiguousarray(np.concatenate(xs)),
        np.concatenate(ends),
        np.concatenate(syms),
        np.concatenate(dirs),
        np.concatenate(trends),
        seq_len,
    )


def take(ws: WindowSet, sel: I64) -> WindowSet:
    """The samples `sel` of a set (the rows stay; only the sample index is cut)."""
    syn = None if ws.synthetic is None else ws.synthetic[sel]
    return WindowSet(ws.x, ws.ends[sel], ws.symbol[sel], ws.direction[sel], ws.trend[sel], ws.seq_len, syn)


def concat_sets(parts: Sequence[WindowSet], synthetic: Sequence[bool]) -> WindowSet:
    """Stack sample sets (one seq_len); samples of a part flagged synthetic are tagged `synthetic`."""
    xs, ends, syms, dirs, trends, tags = [], [], [], [], [], []
    offset = 0
    for ws, is_syn in zip(parts, synthetic, strict=True):
        xs.append(ws.x)
        ends.append(ws.ends + offset)
        syms.append(ws.symbol)
        dirs.append(ws.direction)
        trends.append(ws.trend)
        own = ws.synthetic if ws.synthetic is not None else np.zeros(len(ws), dtype=np.bool_)
        tags.append(np.ones(len(ws), dtype=np.bool_) if is_syn else own)
        offset += ws.x.shape[0]
    return WindowSet(
        np.ascontiguousarray(np.concatenate(xs)),
        np.concatenate(ends),
        np.concatenate(syms),
        np.concatenate(dirs),
        np.concatenate(trends),
        parts[0].seq_len,
        np.concatenate(tags),
    )


def synthetic_target(n_real: int, share: float) -> int:
    """Synthetic samples that make `share` of a training split of `n_real` real samples (cap 20 %)."""
    if not 0.0 <= share <= MAX_SYNTHETIC_SHARE:
        raise ConfigError(f"synthetic share {share:.0%} refused: at most {MAX_SYNTHETIC_SHARE:.0%} of a training split")
    return int(share / (1.0 - share) * n_real) if share > 0 else 0
