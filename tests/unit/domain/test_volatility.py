"""Stop ATR and volatility regime: fixed trailing definitions, so the value a live scan computes on
its look-back window equals the one a single vectorised pass over the whole series gives that bar.

Synthetic random-walk prices: mechanics only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market import VolRegime
from domain.volatility import REGIME_OF_CODE, regime_codes, stop_atr, trailing_mean, true_ranges


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.002 * (1 + rng.random(n)), n)))
    h = c * (1 + rng.random(n) * 0.003)
    lo = c * (1 - rng.random(n) * 0.003)
    return h, lo, c


def test_exact_numbers() -> None:
    h = np.array([10.0, 12.0, 11.0, 15.0])
    lo = np.array([9.0, 10.0, 8.0, 13.0])
    c = np.array([9.5, 11.0, 9.0, 14.0])
    tr = true_ranges(h, lo, c)
    # no previous close for the first bar; then max(h-l, |h-prev|, |l-prev|)
    assert np.isnan(tr[0]) and tr[1:].tolist() == [2.5, 3.0, 6.0]
    a = stop_atr(h, lo, c, 2)
    assert np.isnan(a[:2]).all() and a[2:].tolist() == [2.75, 4.5]
    assert trailing_mean(np.array([1.0, 2.0, 3.0, 4.0]), 3)[2:].tolist() == [2.0, 3.0]
    # current value ranked among the last 4 (itself included): 2*below + equal, in half-counts
    a = np.array([np.nan, 1.0, 2.0, 3.0, 4.0, 0.5, 2.5, 2.5])
    codes = regime_codes(a, 4)
    assert codes[:4].tolist() == [1, 1, 1, 1]  # a NaN in the trailing window: medium
    # bar 4: 4 is above all -> high; bar 5: 0.5 below all -> low; bar 6: 2.5 among (4, .5, 2.5, 3) -> 1.5/4 -> medium
    assert codes[4:7].tolist() == [2, 0, 1]
    assert REGIME_OF_CODE[0] is VolRegime.LOW and REGIME_OF_CODE[2] is VolRegime.HIGH
    # only the requested rows
    assert regime_codes(a, 4, rows=np.array([5, 4])).tolist() == [0, 2]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(40, 400),
    w=st.integers(2, 20),
    big_w=st.integers(2, 60),
    cut=st.integers(0, 39),
)
def test_any_trailing_window_gives_the_full_series_value(seed: int, n: int, w: int, big_w: int, cut: int) -> None:
    h, lo, c = _walk(n, seed)
    full_atr = stop_atr(h, lo, c, w)
    full_reg = regime_codes(full_atr, big_w)
    for end in range(n - 5, n + 1):
        start = min(cut, end - 1)
        win_atr = stop_atr(h[start:end], lo[start:end], c[start:end], w)
        i = end - 1
        if i - start >= w:  # the window holds the last w true ranges and their previous close
            assert win_atr[-1] == full_atr[i]  # bit for bit
        else:
            assert np.isnan(win_atr[-1])
        win_reg = regime_codes(win_atr, big_w)[-1]
        if i - start >= w + big_w - 1:
            assert win_reg == full_reg[i]
        else:
            assert win_reg == 1


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 300),
    big_w=st.integers(1, 80),
    k=st.integers(1, 70),
    nan_at=st.integers(-1, 299),
)
def test_requested_rows_are_the_full_series_codes(seed: int, n: int, big_w: int, k: int, nan_at: int) -> None:
    # few rows are counted on their own windows: the same codes as the passes over every bar, ties
    # (rounded values), NaNs, rows before the first full window and negative rows included
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=n), 1)
    if 0 <= nan_at < n:
        a[nan_at] = np.nan
    rows = rng.integers(-n, n, size=k)
    for lo_pct, hi_pct in ((33.3, 66.7), (10.0, 90.0), (50.0, 50.0)):
        full = regime_codes(a, big_w, low_pct=lo_pct, high_pct=hi_pct)
        assert regime_codes(a, big_w, rows=rows, low_pct=lo_pct, high_pct=hi_pct).tolist() == full[rows].tolist()


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        trailing_mean(np.zeros(3), 0)
    with pytest.raises(ValueError):
        regime_codes(np.zeros(3), 0)
