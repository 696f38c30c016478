"""Quality metrics of synthetic return paths against the real training returns (pure numpy).

Every metric compares a synthetic set of log-return paths with the real ones and is scale-free
where a threshold applies (distances divided by the real figure's scale), so one set of thresholds
(`[gan]` in the config) grades any coin and timeframe. `evaluate` returns the checks with their
values, limits and verdicts; a generator that fails any check is not used.

Paths are 1-D arrays of log returns r_t = log(close_t / close_{t-1}); several paths are evaluated
without concatenating them (no window, lag or aggregate crosses from one path into the next).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
AGG_BARS = (1, 12, 288)
MAX_LAG = 100


@attrs.frozen
class Thresholds:
    """Limits of each check (config section `[gan]`, `TRADING_AI_GAN_*`)."""

    w1_max: float = 0.30  # Wasserstein-1 / real mean abs deviation of the k-bar returns, each of 1, 12, 288 bars
    kurtosis_ratio_max: float = 3.0  # max(kurt_s, kurt_r) / min(...) of (excess kurtosis + 3)
    hill_ratio_max: float = 1.5  # max/min of the Hill tail indices
    acf_r_max: float = 0.05  # mean |acf_syn - acf_real| of r over lags 1..100
    acf_abs_max: float = 0.05  # same for |r|
    acf_sq_max: float = 0.05  # same for r^2
    clustering_min: float = 0.05  # mean acf(|r|) over lags 1..10 must show clustering
    leverage_max: float = 0.10  # mean |corr(r_t, r^2_{t+k}) syn - real| over k = 1..20
    regime_tv_max: float = 0.20  # total variation of low/mid/high volatility regime frequencies
    hallucinated_max: float = 0.02  # share of synthetic volatility outside the real range
    discriminative_max: float = 0.20  # |accuracy - 0.5| of a post-hoc classifier
    predictive_ratio_max: float = 1.25  # TSTR error / TRTR error of the next-step |r| model

    @classmethod
    def from_settings(cls, gan: Mapping[str, Any]) -> Thresholds:
        names = {f.name for f in attrs.fields(cls)}
        return cls(**{k: float(v) for k, v in gan.items() if k in names})


@attrs.frozen
class Check:
    name: str
    value: float
    limit: float
    passed: bool
    detail: str = ""


def _paths(paths: Sequence[F64] | F64) -> list[F64]:
    if isinstance(paths, np.ndarray) and paths.ndim == 1:
        return [np.asarray(paths, dtype=np.float64)]
    return [np.asarray(p, dtype=np.float64) for p in paths]


def aggregate(paths: Sequence[F64] | F64, k: int) -> F64:
    """Overlapping k-bar log returns of every path (sum of k consecutive bars)."""
    out = []
    for p in _paths(paths):
        if p.size < k:
            continue
        c = np.concatenate(([0.0], np.cumsum(p)))
        out.append(c[k:] - c[:-k])
    return np.concatenate(out) if out else np.empty(0)


def wasserstein1(a: F64, b: F64, grid: int = 2000) -> float:
    """W1 between two empirical 1-D distributions: the mean |quantile difference|."""
    if a.size == 0 or b.size == 0:
        return float("nan")
    q = (np.arange(grid) + 0.5) / grid
    return float(np.mean(np.abs(np.quantile(a, q) - np.quantile(b, q))))


def excess_kurtosis(x: F64) -> float:
    x = x - x.mean()
    v = float(np.mean(x**2))
    return float(np.mean(x**4) / v**2 - 3.0) if v > 0 else float("nan")


def hill_index(x: F64, tail: float = 0.05) -> float:
    """Hill estimator of the tail index alpha of |x| over the top `tail` share (Gaussian: large, t3: ~3)."""
    a = np.sort(np.abs(x[np.isfinite(x)]))[::-1]
    k = max(int(a.size * tail), 2)
    if a.size <= k or a[k] <= 0:
        return float("nan")
    return float(1.0 / np.mean(np.log(a[:k] / a[k])))


def acf(paths: Sequence[F64] | F64, max_lag: int = MAX_LAG) -> F64:
    """Autocorrelation at lags 1..max_lag pooled over paths (each path demeaned by the pooled mean)."""
    ps = _paths(paths)
    mu = float(np.mean(np.concatenate(ps)))
    var = float(np.mean(np.concatenate(ps) ** 2) - mu**2)
    num = np.zeros(max_lag)
    cnt = np.zeros(max_lag)
    for p in ps:
        d = p - mu
        n = d.size
        if n < 2:
            continue
        # FFT autocovariance: all lags at once
        f = np.fft.rfft(d, 2 * n)
        ac = np.fft.irfft(f * np.conj(f))[: max_lag + 1]
        m = min(max_lag, n - 1)
        num[:m] += ac[1 : m + 1]
        cnt[:m] += n - np.arange(1, m + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, num / np.maximum(cnt, 1) / var, np.nan)


def leverage(paths: Sequence[F64] | F64, max_lag: int = 20) -> F64:
    """corr(r_t, r^2_{t+k}) for k = 1..max_lag, pooled over paths (negative for equities and often crypto)."""
    xs: list[list[F64]] = [[] for _ in range(max_lag)]
    ys: list[list[F64]] = [[] for _ in range(max_lag)]
    for p in _paths(paths):
        for k in range(1, max_lag + 1):  # loop over lags only, never over bars
            if p.size > k:
                xs[k - 1].append(p[:-k])
                ys[k - 1].append(p[k:] ** 2)
    out = np.full(max_lag, np.nan)
    for i in range(max_lag):
        if xs[i]:
            a, b = np.concatenate(xs[i]), np.concatenate(ys[i])
            if a.std() > 0 and b.std() > 0:
                out[i] = float(np.corrcoef(a, b)[0, 1])
    return out


def rolling_vol(paths: Sequence[F64] | F64, window: int = 48) -> F64:
    out = []
    for p in _paths(paths):
        if p.size < window:
            continue
        c1 = np.concatenate(([0.0], np.cumsum(p)))
        c2 = np.concatenate(([0.0], np.cumsum(p**2)))
        m = (c1[window:] - c1[:-window]) / window
        out.append(np.sqrt(np.maximum((c2[window:] - c2[:-window]) / window - m**2, 0.0)))
    return np.concatenate(out) if out else np.empty(0)


def regime_frequencies(real: Sequence[F64] | F64, syn: Sequence[F64] | F64, window: int = 48) -> tuple[F64, F64, float]:
    """Low/mid/high volatility regimes by the real rolling volatility's terciles: (real freq, synthetic
    freq, synthetic share outside the real volatility range = hallucinated regimes)."""
    vr, vs = rolling_vol(real, window), rolling_vol(syn, window)
    lo, hi = np.quantile(vr, [1 / 3, 2 / 3])
    fr = np.bincount(np.digitize(vr, [lo, hi]), minlength=3) / vr.size
    fs = np.bincount(np.digitize(vs, [lo, hi]), minlength=3) / max(vs.size, 1)
    outside = float(np.mean((vs < vr.min()) | (vs > vr.max()))) if vs.size else float("nan")
    return fr.astype(np.float64), fs.astype(np.float64), outside


def _curve_distance(a: F64, b: F64) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.mean(np.abs(a[ok] - b[ok]))) if ok.any() else float("nan")


def _ratio(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)) or min(a, b) <= 0:
        return float("inf")
    return float(max(a, b) / min(a, b))


def _le(name: str, value: float, limit: float, detail: str = "") -> Check:
    return Check(name, float(value), float(limit), bool(np.isfinite(value) and value <= limit), detail)


def evaluate(
    real: Sequence[F64] | F64, syn: Sequence[F64] | F64, th: Thresholds, extra: Mapping[str, float] | None = None
) -> list[Check]:
    """Every statistical check of `syn` against `real`. `extra` may carry the discriminative and
    predictive scores (plugins.gan.scores), graded here under the same thresholds."""
    checks: list[Check] = []
    for k in AGG_BARS:
        a, b = aggregate(real, k), aggregate(syn, k)
        scale = float(np.mean(np.abs(a - np.median(a)))) if a.size else float("nan")
        w = wasserstein1(a, b) / scale if scale > 0 else float("nan")
        checks.append(_le(f"w1_{k}bar", w, th.w1_max, f"{a.size} real / {b.size} synthetic {k}-bar returns"))
    r, s = np.concatenate(_paths(real)), np.concatenate(_paths(syn))
    kr, ks = excess_kurtosis(r), excess_kurtosis(s)
    checks.append(
        _le(
            "kurtosis_ratio",
            _ratio(kr + 3, ks + 3),
            th.kurtosis_ratio_max,
            f"excess kurtosis real {kr:.2f} synthetic {ks:.2f}",
        )
    )
    hr, hs = hill_index(r), hill_index(s)
    checks.append(_le("hill_ratio", _ratio(hr, hs), th.hill_ratio_max, f"Hill alpha real {hr:.2f} synthetic {hs:.2f}"))
    ps_r, ps_s = _paths(real), _paths(syn)
    checks.append(_le("acf_r", _curve_distance(acf(ps_r), acf(ps_s)), th.acf_r_max))
    a_abs_r, a_abs_s = acf([np.abs(p) for p in ps_r]), acf([np.abs(p) for p in ps_s])
    checks.append(_le("acf_abs", _curve_distance(a_abs_r, a_abs_s), th.acf_abs_max))
    checks.append(_le("acf_sq", _curve_distance(acf([p**2 for p in ps_r]), acf([p**2 for p in ps_s])), th.acf_sq_max))
    clus = float(np.nanmean(a_abs_s[:10]))
    checks.append(
        Check(
            "vol_clustering",
            clus,
            th.clustering_min,
            bool(clus >= th.clustering_min),
            f"mean acf(|r|) lags 1-10: synthetic {clus:.3f}, real {float(np.nanmean(a_abs_r[:10])):.3f} "
            f"(must be >= the limit)",
        )
    )
    checks.append(_le("leverage", _curve_distance(leverage(ps_r), leverage(ps_s)), th.leverage_max))
    fr, fs, outside = regime_frequencies(ps_r, ps_s)
    checks.append(
        _le(
            "regime_tv",
            0.5 * float(np.abs(fr - fs).sum()),
            th.regime_tv_max,
            f"low/mid/high real {np.round(fr, 3).tolist()} synthetic {np.round(fs, 3).tolist()}",
        )
    )
    checks.append(_le("hallucinated_regimes", outside, th.hallucinated_max))
    if extra:
        if "discriminative" in extra:
            checks.append(_le("discriminative", extra["discriminative"], th.discriminative_max))
        if "predictive_ratio" in extra:
            checks.append(_le("predictive_ratio", extra["predictive_ratio"], th.predictive_ratio_max))
    return checks


def passed(checks: Sequence[Check]) -> bool:
    return all(c.passed for c in checks)
