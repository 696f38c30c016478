"""Walk-forward splits over bar timestamps, with an embargo of the label horizon between sets.

A label at bar t looks `horizon_bars` bars ahead; a training row whose label window reaches into
the next set would leak that set's prices into training. So every set loses its last rows whose
label window ends at or after the next set's start (purging, as in de Prado's walk-forward CV).

Calendar arithmetic only converts fixed dates to epoch ms (no clock is read).
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from domain.market import BoolArray, IntArray, Timeframe


def date_ms(year: int, month: int = 1, day: int = 1) -> int:
    """Epoch ms of 00:00 UTC on that date."""
    return int(dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp() * 1000)


def _add_months(ms: int, months: int) -> int:
    d = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    total = d.year * 12 + (d.month - 1) + months
    return date_ms(total // 12, total % 12 + 1, 1)


def month_start(ms: int) -> int:
    d = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return date_ms(d.year, d.month, 1)


@attrs.frozen(eq=False)
class Split:
    """Row masks of one split; `bounds` are the [start, end) ms of train, validate, test."""

    train: BoolArray
    validate: BoolArray
    test: BoolArray
    bounds: tuple[tuple[int, int], tuple[int, int], tuple[int, int] | None]

    def indices(self) -> tuple[IntArray, IntArray, IntArray]:
        return (np.flatnonzero(self.train), np.flatnonzero(self.validate), np.flatnonzero(self.test))


def _in(ts: IntArray, start: int, end: int, horizon_ms: int) -> BoolArray:
    """start <= ts and the label window ts + horizon ends before `end` (purged)."""
    return np.asarray((ts >= start) & (ts + horizon_ms < end), dtype=np.bool_)


def calendar_split(
    ts: IntArray,
    timeframe: Timeframe,
    horizon_bars: int,
    train: tuple[int, int] = (date_ms(2020), date_ms(2024)),
    validate: tuple[int, int] = (date_ms(2024), date_ms(2025)),
    test_start: int = date_ms(2025),
    test_end: int | None = None,
) -> Split:
    """The plan's split: train 2020-2023, validate 2024, test 2025 onwards, each purged at its end.

    The test set is purged only if `test_end` is given (its last labels simply are unknown otherwise).
    """
    t = np.asarray(ts, dtype=np.int64)
    h = horizon_bars * timeframe.ms
    if not train[0] < train[1] <= validate[0] < validate[1] <= test_start:
        raise ValueError("splits must be ordered: train < validate < test")
    end = np.iinfo(np.int64).max if test_end is None else test_end
    test = (t >= test_start) & ((t + h < end) if test_end is not None else True)
    return Split(
        _in(t, *train, h),
        _in(t, *validate, h),
        np.asarray(test, dtype=np.bool_),
        (train, validate, (test_start, end)),
    )


def rolling_windows(
    ts: IntArray,
    timeframe: Timeframe,
    horizon_bars: int,
    train_months: int,
    validate_months: int = 1,
    step_months: int = 1,
) -> list[Split]:
    """Walk-forward windows: train N months, validate the next month(s), step forward 1 month.

    Windows start at the first whole month of the data and stop when validation would run past
    the last bar. `test` is empty in these windows (the calendar test set stays untouched).
    """
    t = np.asarray(ts, dtype=np.int64)
    if t.shape[0] == 0:
        return []
    if min(train_months, validate_months, step_months) < 1:
        raise ValueError("train, validate and step months must be >= 1")
    h = horizon_bars * timeframe.ms
    first = month_start(int(t[0]))
    if first < int(t[0]):
        first = _add_months(first, 1)
    last_close = int(t[-1]) + timeframe.ms
    out = []
    start = first
    empty = np.zeros(t.shape[0], dtype=np.bool_)
    while True:
        train_end = _add_months(start, train_months)
        val_end = _add_months(train_end, validate_months)
        if val_end > last_close:
            break
        out.append(
            Split(
                _in(t, start, train_end, h),
                _in(t, train_end, val_end, h),
                empty,
                ((start, train_end), (train_end, val_end), None),
            )
        )
        start = _add_months(start, step_months)
    return out


@attrs.frozen(eq=False)
class PurgedFold:
    """Row indices of one purged walk-forward fold (rows of one bar series, time order)."""

    train: IntArray
    validate: IntArray
    test: IntArray
    test_bounds: tuple[int, int]  # [first, last + 1) row of the test block


def purged_walk_forward(
    usable: BoolArray,
    horizon_bars: int,
    n_folds: int,
    test_share: float = 0.5,
    val_share: float = 0.1,
    embargo_bars: int = 0,
) -> list[PurgedFold]:
    """Expanding walk-forward over one series: the last `test_share` of the rows is cut into
    `n_folds` consecutive test blocks; each fold validates on the `val_share` of rows right before
    its test block and trains on everything earlier.

    Purged: a row whose label window (`horizon_bars` ahead) reaches into the next block belongs to
    no block. Embargoed: `embargo_bars` more rows are dropped before each block starts, so no
    training label ends right at the validation or test boundary. `usable` marks the rows that may
    be samples at all (features and label defined).
    """
    ok = np.asarray(usable, dtype=np.bool_)
    n = int(ok.shape[0])
    if n_folds < 1 or not 0.0 < test_share < 1.0 or not 0.0 < val_share < 1.0:
        raise ValueError("n_folds >= 1 and shares in (0, 1)")
    rows = np.arange(n, dtype=np.int64)
    gap = horizon_bars + embargo_bars
    test_len = int(n * test_share) // n_folds
    val_len = int(n * val_share)
    first_test = n - test_len * n_folds
    out = []
    for k in range(n_folds):
        t0 = first_test + k * test_len
        t1 = t0 + test_len if k < n_folds - 1 else n
        v0 = t0 - gap - val_len
        if v0 - gap <= 0:
            raise ValueError(f"too few rows ({n}) for {n_folds} purged folds")
        train = rows[ok & (rows + horizon_bars < v0 - embargo_bars)]
        val = rows[ok & (rows >= v0) & (rows + horizon_bars < t0 - embargo_bars)]
        test = rows[ok & (rows >= t0) & (rows + horizon_bars < t1)]
        out.append(PurgedFold(train, val, test, (t0, t1)))
    return out
