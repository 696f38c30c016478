"""Trade-level statistics and the multiple-testing correction of a research grid.

A grid of many cells (coin x timeframe x horizon x label x model) will show a "best" cell by luck.
So the expectancy of each cell's trades is tested one-sided (H0: mean net return <= 0) and the
p-values of ALL cells of the grid (a cell without trades counts with p = 1) go through
Benjamini-Hochberg at level q. The interval reported beside a selected cell is the
false-coverage-rate adjusted one (Benjamini & Yekutieli 2005): with R of m cells selected, a
one-sided bound at level 1 - R q / m (Bonferroni's q / m when nothing is selected), so "the lower
95 % bound after the correction" means exactly that bound.

The trade gate (`trade_gate`): a cell passes when it has at least `min_trades` trades, BH selects
it, and its corrected lower bound is above 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """Inverse standard normal CDF (Acklam's rational approximation refined by one Newton step)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p > 1 - lo:
        q = math.sqrt(-2 * math.log(1 - p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    e = norm_cdf(x) - p
    return x - e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)


@attrs.frozen
class MeanTest:
    """Mean of a sample with its standard error, two-sided 95 % interval and one-sided p (mean > 0)."""

    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    p_one_sided: float


def mean_test(x: Sequence[float] | FloatArray, se: float | None = None) -> MeanTest:
    """Normal approximation; `se` overrides the iid standard error (e.g. a HAC one). n < 2: p = 1."""
    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    n = int(a.shape[0])
    nan = float("nan")
    if n == 0:
        return MeanTest(0, nan, nan, nan, nan, 1.0)
    m = float(a.mean())
    if se is None:
        se = float(a.std(ddof=1) / math.sqrt(n)) if n > 1 else nan
    if not (n > 1 and math.isfinite(se)):
        return MeanTest(n, m, nan, nan, nan, 1.0)
    if se == 0.0:
        p = 0.0 if m > 0 else 1.0
    else:
        p = 1.0 - norm_cdf(m / se)
    return MeanTest(n, m, se, m - 1.96 * se, m + 1.96 * se, p)


def benjamini_hochberg(
    p_values: Sequence[float] | FloatArray, q: float = 0.05
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """(selected, adjusted p) of the step-up procedure over all given p-values (NaN counts as 1)."""
    p = np.asarray(p_values, dtype=np.float64)
    p = np.where(np.isfinite(p), p, 1.0)
    m = p.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.bool_), np.zeros(0)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    adj_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(adj_sorted, 1.0)
    below = p[order] <= q * np.arange(1, m + 1) / m
    k = int(np.flatnonzero(below).max()) + 1 if below.any() else 0
    sel = np.zeros(m, dtype=np.bool_)
    sel[order[:k]] = True
    return sel, adj


def corrected_lower_bound(mean: float, se: float, selected: int, m: int, q: float = 0.05) -> float:
    """One-sided FCR-adjusted lower bound: level 1 - R q / m with R selected of m (R = 0: q / m)."""
    if not (math.isfinite(mean) and math.isfinite(se)) or m < 1:
        return float("nan")
    alpha = q * max(selected, 1) / m
    return mean - norm_ppf(1.0 - alpha) * se


@attrs.frozen
class TradeGateResult:
    passed: bool
    value: float  # the corrected lower bound (bps per trade)
    reason: str


def trade_gate(
    test: MeanTest, selected: bool, corrected_low: float, adjusted_p: float, min_trades: int, unit: str = "bps"
) -> TradeGateResult:
    """The trade-level gate: enough trades, selected by BH, corrected lower bound above zero."""
    if test.n < min_trades:
        return TradeGateResult(False, corrected_low, f"{test.n} trades, fewer than {min_trades}")
    ok = bool(selected and math.isfinite(corrected_low) and corrected_low > 0)
    why = (
        f"mean {test.mean:+.2f} {unit}/trade on {test.n} trades, adjusted p {adjusted_p:.3g}, "
        f"corrected lower bound {corrected_low:+.2f} {unit} {'> 0' if ok else 'does not clear 0'}"
    )
    return TradeGateResult(ok, corrected_low, why)


def auc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    if not (math.isfinite(auc) and n_pos > 0 and n_neg > 0):
        return float("nan")
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))
