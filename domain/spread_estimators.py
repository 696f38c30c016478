"""Bid-ask spread estimators from OHLC bars: Corwin-Schultz (2012) and Abdi-Ranaldo (2017).

Both estimate the *proportional* spread (a fraction of price: 0.0001 = 1 bp) from two
consecutive bars, without quotes. They are noisy per bar and meant to be averaged.

Alignment (no look-ahead): the estimate built from bars t-1 and t is stored at index t, so
`out[t]` only uses bars up to and including t. `out[0]` is always NaN.

Negative estimates. A two-bar estimate can come out negative when the price variance inside the
window dominates the spread component. Both papers' "two-day corrected" estimators set such
estimates to zero before averaging (Corwin & Schultz 2012, sec. III.A: "we set all negative
two-day spreads to zero"; Abdi & Ranaldo 2017, eq. 9: s = sqrt(max(4 E[...], 0))). That is the
default here (`negative="zero"`). `negative="nan"` drops them instead (the average then only
covers bars with a positive estimate and is biased upward; useful for diagnostics).

Bars with a non-positive or non-finite price, or high < low, give NaN for every window they
touch. Everything is vectorised; no Python loop over bars.

References:
- S. A. Corwin, P. Schultz, "A Simple Way to Estimate Bid-Ask Spreads from Daily High and Low
  Prices", Journal of Finance 67(2), 2012.
- F. Abdi, A. Ranaldo, "A Simple Estimation of Bid-Ask Spreads from Daily Close, High, and Low
  Prices", Review of Financial Studies 30(12), 2017.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
NegativePolicy = Literal["zero", "nan"]

# 3 - 2*sqrt(2), the denominator in Corwin-Schultz's alpha.
_CS_K: Final = 3.0 - 2.0 * math.sqrt(2.0)


def _f64(name: str, value: object) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _valid_bars(high: FloatArray, low: FloatArray, close: FloatArray | None = None) -> npt.NDArray[np.bool_]:
    ok = np.isfinite(high) & np.isfinite(low) & (low > 0) & (high >= low)
    if close is not None:
        ok &= np.isfinite(close) & (close > 0)
    return np.asarray(ok, dtype=np.bool_)


def _check_lengths(**arrays: FloatArray) -> int:
    sizes = {k: v.shape[0] for k, v in arrays.items()}
    n = int(next(iter(sizes.values())))
    if any(s != n for s in sizes.values()):
        raise ValueError(f"arrays must have equal length, got {sizes}")
    return n


def _apply_negative(est: FloatArray, negative: NegativePolicy) -> FloatArray:
    if negative == "zero":
        return np.where(est < 0, 0.0, est)
    if negative == "nan":
        return np.where(est < 0, np.nan, est)
    raise ValueError(f"negative must be 'zero' or 'nan', got {negative!r}")


def corwin_schultz(
    high: object,
    low: object,
    close: object | None = None,
    *,
    negative: NegativePolicy = "zero",
) -> FloatArray:
    """Corwin-Schultz two-bar spread per bar (fraction of price), aligned to the later bar.

    beta  = ln(H[t-1]/L[t-1])^2 + ln(H[t]/L[t])^2
    gamma = ln(max(H[t-1], H[t]) / min(L[t-1], L[t]))^2
    alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))
    S     = 2 (e^alpha - 1) / (1 + e^alpha)

    When `close` is given, bar t's high and low are first shifted by the gap from close[t-1]
    (the paper's overnight adjustment: if L[t] > C[t-1] both move down by L[t] - C[t-1]; if
    H[t] < C[t-1] both move up by C[t-1] - H[t]), so a jump between bars is not read as spread.
    """
    h = _f64("high", high)
    lo = _f64("low", low)
    c = None if close is None else _f64("close", close)
    n = _check_lengths(high=h, low=lo) if c is None else _check_lengths(high=h, low=lo, close=c)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    ok = _valid_bars(h, lo, c)
    h0, l0 = h[:-1], lo[:-1]
    h1, l1 = h[1:].copy(), lo[1:].copy()
    if c is not None:
        prev_close = c[:-1]
        # Gap adjustment of the later bar (Corwin & Schultz 2012, sec. II.B).
        up_gap = np.where(l1 > prev_close, l1 - prev_close, 0.0)
        down_gap = np.where(h1 < prev_close, prev_close - h1, 0.0)
        shift = down_gap - up_gap
        h1 = h1 + shift
        l1 = l1 + shift
    pair_ok = ok[:-1] & ok[1:] & (l1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
        gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
        alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _CS_K - np.sqrt(gamma / _CS_K)
        ea = np.exp(alpha)
        s = 2.0 * (ea - 1.0) / (1.0 + ea)
    s = np.where(pair_ok, s, np.nan)
    out[1:] = _apply_negative(s, negative)
    return out


def abdi_ranaldo(
    high: object,
    low: object,
    close: object,
    *,
    negative: NegativePolicy = "zero",
) -> FloatArray:
    """Abdi-Ranaldo two-bar spread per bar (fraction of price), aligned to the later bar.

    eta[t] = (ln H[t] + ln L[t]) / 2 (log mid-range), c[t] = ln C[t]
    s^2    = 4 (c[t-1] - eta[t-1]) (c[t-1] - eta[t])
    S      = sqrt(s^2) where s^2 >= 0; a negative s^2 is 0 (`negative="zero"`) or NaN.

    S is a log spread, which equals the proportional spread to first order.
    """
    h = _f64("high", high)
    lo = _f64("low", low)
    c = _f64("close", close)
    n = _check_lengths(high=h, low=lo, close=c)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    s2 = abdi_ranaldo_squared(h, lo, c)[1:]
    s2 = _apply_negative(s2, negative)
    out[1:] = np.sqrt(s2)
    return out


def abdi_ranaldo_squared(high: object, low: object, close: object) -> FloatArray:
    """The raw two-bar term 4 (c[t-1] - eta[t-1]) (c[t-1] - eta[t]), signed, aligned to bar t.

    Averaging this over a window and then taking sqrt(max(mean, 0)) is the paper's monthly
    estimator (eq. 9); see `rolling_abdi_ranaldo`.
    """
    h = _f64("high", high)
    lo = _f64("low", low)
    c = _f64("close", close)
    n = _check_lengths(high=h, low=lo, close=c)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    ok = _valid_bars(h, lo, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = 0.5 * (np.log(h) + np.log(lo))
        lc = np.log(c)
        s2 = 4.0 * (lc[:-1] - eta[:-1]) * (lc[:-1] - eta[1:])
    out[1:] = np.where(ok[:-1] & ok[1:], s2, np.nan)
    return out


def rolling_mean(values: object, window: int, min_count: int | None = None) -> FloatArray:
    """Trailing mean over `window` elements ending at each index, ignoring NaN.

    The result is NaN where fewer than `min_count` (default: `window`) finite values are in the
    window, including the first window-1 positions. Uses cumulative sums, no Python loop.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    need = window if min_count is None else min_count
    if not 1 <= need <= window:
        raise ValueError(f"min_count must be in 1..{window}, got {min_count}")
    x = _f64("values", values)
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < window:
        return out
    finite = np.isfinite(x)
    csum = np.concatenate(([0.0], np.cumsum(np.where(finite, x, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(finite.astype(np.int64))))
    sums = csum[window:] - csum[:-window]
    counts = ccount[window:] - ccount[:-window]
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / counts
    out[window - 1 :] = np.where(counts >= need, means, np.nan)
    return out


def rolling_corwin_schultz(
    high: object,
    low: object,
    close: object | None = None,
    *,
    window: int,
    min_count: int | None = None,
) -> FloatArray:
    """Trailing mean of the two-bar Corwin-Schultz spread (negatives set to zero first)."""
    return rolling_mean(corwin_schultz(high, low, close, negative="zero"), window, min_count)


def rolling_abdi_ranaldo(
    high: object,
    low: object,
    close: object,
    *,
    window: int,
    min_count: int | None = None,
) -> FloatArray:
    """Abdi-Ranaldo over a trailing window: sqrt(max(mean of the signed two-bar term, 0)).

    This is the paper's window estimator (eq. 9), which averages before the square root; it is
    less biased than averaging per-bar estimates that were clipped at zero.
    """
    mean_s2 = rolling_mean(abdi_ranaldo_squared(high, low, close), window, min_count)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(mean_s2), np.nan, np.sqrt(np.maximum(mean_s2, 0.0)))
