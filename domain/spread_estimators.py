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
from numba import njit

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


_NEGATIVE_CODES: Final = {"zero": 0, "nan": 1}


def _negative_code(negative: NegativePolicy) -> NegativePolicy:
    if negative not in _NEGATIVE_CODES:
        raise ValueError(f"negative must be 'zero' or 'nan', got {negative!r}")
    return negative


# Compiled loops for the arithmetic between the transcendental steps; log and exp stay numpy's
# (np.log / np.exp on whole arrays), so every value is bit for bit what the array form gives.


@njit(cache=True)
def _cs_ratios_into(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    ok: npt.NDArray[np.bool_],
    adjust: bool,
    ra: FloatArray,
    rb: FloatArray,
    rc: FloatArray,
    pair_ok: npt.NDArray[np.bool_],
) -> None:
    """Per bar pair (t-1, t): H0/L0, H1/L1 and max(H)/min(L) after the gap adjustment, and validity
    (1.0 where the pair is invalid: its log is 0 and its estimate is masked anyway)."""
    m = h.shape[0] - 1
    for t in range(m):
        h0, l0, h1, l1 = h[t], lo[t], h[t + 1], lo[t + 1]
        if adjust:
            pc = c[t]
            up = l1 - pc if l1 > pc else 0.0
            down = pc - h1 if h1 < pc else 0.0
            shift = down - up
            h1 = h1 + shift
            l1 = l1 + shift
        if ok[t] and ok[t + 1] and l1 > 0:
            pair_ok[t] = True
            ra[t] = h0 / l0
            rb[t] = h1 / l1
            rc[t] = max(h0, h1) / min(l0, l1)
        else:
            pair_ok[t] = False
            ra[t] = 1.0
            rb[t] = 1.0
            rc[t] = 1.0


@njit(cache=True)
def _cs_alpha_into(la: FloatArray, lb: FloatArray, lc: FloatArray, out: FloatArray) -> None:
    """out := alpha per pair (la, lb, lc: the logs of the three ratios); la may be `out` itself."""
    for t in range(la.shape[0]):
        beta = la[t] * la[t] + lb[t] * lb[t]
        gamma = lc[t] * lc[t]
        out[t] = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _CS_K - np.sqrt(gamma / _CS_K)


@njit(cache=True)
def _cs_spread_into(ea: FloatArray, pair_ok: npt.NDArray[np.bool_], negative: int, out: FloatArray) -> None:
    for t in range(ea.shape[0]):
        if not pair_ok[t]:
            out[t] = np.nan
            continue
        v = 2.0 * (ea[t] - 1.0) / (1.0 + ea[t])
        if v < 0:
            v = 0.0 if negative == 0 else np.nan
        out[t] = v


@njit(cache=True)
def _ar_terms_into(lh: FloatArray, ll: FloatArray, lc: FloatArray, ok: npt.NDArray[np.bool_], out: FloatArray) -> None:
    for t in range(lh.shape[0] - 1):
        if ok[t] and ok[t + 1]:
            eta0 = 0.5 * (lh[t] + ll[t])
            eta1 = 0.5 * (lh[t + 1] + ll[t + 1])
            out[t] = 4.0 * (lc[t] - eta0) * (lc[t] - eta1)
        else:
            out[t] = np.nan


@njit(cache=True, inline="always")
def add_finite(x: float, total: float, count: int) -> tuple[float, int]:
    """One value into a running sum of the finite values and their count; a non-finite one adds 0.0
    (the features kernel's and the spread windows' prefix sums)."""
    if np.isfinite(x):
        return total + x, count + 1
    return total + 0.0, count


@njit(cache=True)
def _rolling_mean_into(x: FloatArray, window: int, need: int, out: FloatArray) -> None:
    """Prefix sums of the finite values in index order (as np.cumsum), differenced over the window;
    a ring of the last window + 1 prefixes stands in for the prefix arrays."""
    ring = window + 1
    cs = np.zeros(ring)
    cc = np.zeros(ring, dtype=np.int64)
    ps = 0.0
    pc = 0
    for i in range(x.shape[0]):
        ps, pc = add_finite(x[i], ps, pc)
        k = (i + 1) % ring
        cs[k] = ps
        cc[k] = pc
        out[i] = np.nan
        if i >= window - 1:
            o = (i + 1 - window) % ring
            cnt = pc - cc[o]
            if cnt >= need:
                out[i] = (ps - cs[o]) / cnt


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
    cc = np.full(n, np.nan) if c is None else c
    m = n - 1
    ra, rb, rc, pair_ok = np.empty(m), np.empty(m), np.empty(m), np.empty(m, dtype=np.bool_)
    _cs_ratios_into(h, lo, cc, ok, c is not None, ra, rb, rc, pair_ok)
    la = np.log(ra, out=ra)
    _cs_alpha_into(la, np.log(rb, out=rb), np.log(rc, out=rc), la)
    ea = np.exp(la, out=la)
    tail = np.empty(m)
    _cs_spread_into(ea, pair_ok, _NEGATIVE_CODES[_negative_code(negative)], tail)
    out[1:] = tail
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
        lh, ll, lc = np.log(h), np.log(lo), np.log(c)
    tail = np.empty(n - 1)
    _ar_terms_into(lh, ll, lc, ok, tail)
    out[1:] = tail
    return out


def two_bar_terms(high: object, low: object, close: object) -> tuple[FloatArray, FloatArray]:
    """`corwin_schultz(high, low, close)` (negatives zero) and `abdi_ranaldo_squared(high, low, close)`
    together, value for value: the bar validity is computed once and the logs go into one buffer
    (what the feature build reads; fewer temporaries than the two calls)."""
    h = _f64("high", high)
    lo = _f64("low", low)
    c = _f64("close", close)
    n = _check_lengths(high=h, low=lo, close=c)
    cs = np.full(n, np.nan)
    ar = np.full(n, np.nan)
    if n < 2:
        return cs, ar
    ok = _valid_bars(h, lo, c)
    m = n - 1
    buf = np.empty((6, n))
    ra, rb, rc = buf[0, :m], buf[1, :m], buf[2, :m]
    pair_ok = np.empty(m, dtype=np.bool_)
    _cs_ratios_into(h, lo, c, ok, True, ra, rb, rc, pair_ok)
    alpha = buf[3, :m]  # apart from its inputs: the compiled loop then runs in SIMD lanes
    _cs_alpha_into(np.log(ra, out=ra), np.log(rb, out=rb), np.log(rc, out=rc), alpha)
    ea = np.exp(alpha, out=alpha)
    _cs_spread_into(ea, pair_ok, _NEGATIVE_CODES["zero"], cs[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        lh, ll, lc = np.log(h, out=buf[3]), np.log(lo, out=buf[4]), np.log(c, out=buf[5])
    _ar_terms_into(lh, ll, lc, ok, ar[1:])
    return cs, ar


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
    _rolling_mean_into(np.ascontiguousarray(x), int(window), int(need), out)
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
