"""Evaluation metrics for direction models: pure numpy, vectorised, exact.

Conventions: `y` is the realised direction (1 = up, 0 = not up), `p` the predicted probability of
up. A model's *confidence* in its call is max(p, 1 - p) and its call is up when p >= 0.5 (the same
rule as `domain.confidence.score_batch`). Tiers are `domain.tiering.raw_tiers_batch` of that confidence.
"""

from __future__ import annotations

import math
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from domain.market import DEFAULT_SESSION_HOURS, Session, SessionHours, session_masks
from domain.signals import Tier, TierThresholds
from domain.tiering import raw_tiers_batch

FloatArray = npt.NDArray[np.float64]
EMITTING_TIERS: Final = (Tier.LOW, Tier.MEDIUM, Tier.HIGH)


def _f(a: object) -> FloatArray:
    return np.asarray(a, dtype=np.float64).ravel()


def _check(y: FloatArray, p: FloatArray) -> None:
    if y.shape != p.shape:
        raise ValueError(f"y and p differ in length: {y.shape[0]} vs {p.shape[0]}")


def confidence(p: object) -> FloatArray:
    """Confidence in the call: max(p, 1 - p)."""
    q = _f(p)
    return np.maximum(q, 1.0 - q)


def correct(y: object, p: object) -> npt.NDArray[np.bool_]:
    """Whether each call (up when p >= 0.5) matched the realised direction."""
    yy, pp = _f(y), _f(p)
    _check(yy, pp)
    return np.asarray((pp >= 0.5) == (yy > 0.5), dtype=np.bool_)


def accuracy(y: object, p: object) -> float:
    c = correct(y, p)
    return float(c.mean()) if c.size else float("nan")


def brier(y: object, p: object) -> float:
    """Mean squared error of the up-probability."""
    yy, pp = _f(y), _f(p)
    _check(yy, pp)
    return float(np.mean((pp - yy) ** 2)) if yy.size else float("nan")


def log_loss(y: object, p: object, eps: float = 1e-12) -> float:
    yy, pp = _f(y), np.clip(_f(p), eps, 1.0 - eps)
    _check(yy, pp)
    return float(-np.mean(yy * np.log(pp) + (1.0 - yy) * np.log(1.0 - pp))) if yy.size else float("nan")


def _average_ranks(x: FloatArray) -> FloatArray:
    """1-based ranks with ties sharing their average rank (as in the Mann-Whitney U statistic)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = xs.shape[0]
    starts = np.concatenate(([True], xs[1:] != xs[:-1]))
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.concatenate((first[1:], [n])) - 1
    avg = (first + last) / 2.0 + 1.0
    ranks = np.empty(n)
    ranks[order] = avg[group]
    return ranks


def roc_auc(y: object, score: object) -> float:
    """Area under the ROC curve (probability a random up bar scores above a random down bar; ties 1/2).

    NaN when only one class is present.
    """
    yy, s = _f(y), _f(score)
    _check(yy, s)
    pos = yy > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


@attrs.frozen(eq=False)
class ReliabilityCurve:
    """Per equal-width probability bin: mean predicted probability, observed frequency and count."""

    edges: FloatArray
    mean_predicted: FloatArray
    observed: FloatArray
    counts: npt.NDArray[np.int64]


def reliability_curve(y: object, p: object, n_bins: int = 10) -> ReliabilityCurve:
    """Bins [k/n, (k+1)/n), the last bin closed; empty bins carry NaN means and count 0."""
    yy, pp = _f(y), _f(p)
    _check(yy, pp)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.floor(pp * n_bins).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins).astype(np.int64)
    sum_p = np.bincount(idx, weights=pp, minlength=n_bins)
    sum_y = np.bincount(idx, weights=yy, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(counts > 0, sum_p / np.maximum(counts, 1), np.nan)
        obs = np.where(counts > 0, sum_y / np.maximum(counts, 1), np.nan)
    return ReliabilityCurve(edges, mean_p, obs, counts)


def expected_calibration_error(y: object, p: object, n_bins: int = 10) -> float:
    """Count-weighted mean |observed - predicted| over the reliability bins of the up-probability."""
    curve = reliability_curve(y, p, n_bins)
    n = int(curve.counts.sum())
    if n == 0:
        return float("nan")
    filled = curve.counts > 0
    gaps = np.abs(curve.observed[filled] - curve.mean_predicted[filled])
    return float(np.sum(gaps * curve.counts[filled]) / n)


@attrs.frozen
class TierStats:
    """One tier's figures. precision: share of its calls that were right (the signal win rate);
    coverage: its share of all bars; recall: its right calls over all bars (every bar has a true
    direction a perfect caller would catch), i.e. precision * coverage; mean_confidence: the
    predicted win rate of the tier."""

    tier: Tier
    count: int
    precision: float
    coverage: float
    recall: float
    mean_confidence: float

    @property
    def calibration_gap(self) -> float:
        return abs(self.mean_confidence - self.precision)


def tier_of(p: object, thresholds: TierThresholds) -> npt.NDArray[np.int64]:
    """Raw tier (as int) of each up-probability's confidence (`domain.tiering.raw_tiers_batch`)."""
    return raw_tiers_batch(confidence(p), thresholds)


def tier_stats(y: object, p: object, thresholds: TierThresholds) -> tuple[TierStats, ...]:
    """Figures for each tier NONE..HIGH (exactly that tier, not 'at least')."""
    yy, pp = _f(y), _f(p)
    _check(yy, pp)
    n = yy.shape[0]
    tiers = tier_of(pp, thresholds)
    ok = correct(yy, pp)
    conf = confidence(pp)
    out = []
    for t in Tier:
        m = tiers == int(t)
        k = int(m.sum())
        prec = float(ok[m].mean()) if k else float("nan")
        out.append(
            TierStats(
                tier=t,
                count=k,
                precision=prec,
                coverage=k / n if n else float("nan"),
                recall=float(ok[m].sum()) / n if n else float("nan"),
                mean_confidence=float(conf[m].mean()) if k else float("nan"),
            )
        )
    return tuple(out)


def emitted_stats(y: object, p: object, thresholds: TierThresholds, min_tier: Tier = Tier.LOW) -> TierStats:
    """Figures for every call at `min_tier` or above taken together (what the runtime would emit)."""
    yy, pp = _f(y), _f(p)
    _check(yy, pp)
    n = yy.shape[0]
    m = tier_of(pp, thresholds) >= int(min_tier)
    ok = correct(yy, pp)
    k = int(m.sum())
    return TierStats(
        tier=min_tier,
        count=k,
        precision=float(ok[m].mean()) if k else float("nan"),
        coverage=k / n if n else float("nan"),
        recall=float(ok[m].sum()) / n if n else float("nan"),
        mean_confidence=float(confidence(pp)[m].mean()) if k else float("nan"),
    )


@attrs.frozen
class GradedSignals:
    """The signals the decision pipeline emitted on a block, graded against what the price did.
    `emitted`: all of them together; `tiers`: NONE..HIGH (each signal's own tier)."""

    emitted: TierStats
    tiers: tuple[TierStats, ...]
    labelled: int  # emitted signals whose horizon lies inside the data (precision counts these)


def grade_signals(
    sign: object, tier: object, confidence_: object, up: object, samples: int, min_tier: Tier = Tier.LOW
) -> GradedSignals:
    """Per emitted signal k: its direction `sign[k]` (+1 long, -1 short), tier, stated confidence (the
    product's win probability after calibration, boosters and bias) and `up[k]` (1.0 if the price rose
    over the horizon after it, 0.0 if not, NaN when the horizon ends past the data). Precision is the
    share of labelled signals that were right; coverage the signals over the block's `samples`; a
    tier's calibration gap is its mean stated confidence against its realised precision."""
    sg = np.asarray(sign, dtype=np.int64).ravel()
    tr = np.asarray(tier, dtype=np.int64).ravel()
    cf, uu = _f(confidence_), _f(up)
    if not (sg.shape == tr.shape == cf.shape == uu.shape):
        raise ValueError("grade_signals: sign, tier, confidence and up must have one value per signal")
    known = ~np.isnan(uu)
    ok = (sg > 0) == (uu > 0.5)

    def stats(t: Tier, m: npt.NDArray[np.bool_]) -> TierStats:
        k, kl = int(m.sum()), int((m & known).sum())
        prec = float(ok[m & known].mean()) if kl else float("nan")
        return TierStats(
            tier=t,
            count=k,
            precision=prec,
            coverage=k / samples if samples else float("nan"),
            recall=float(ok[m & known].sum()) / samples if samples else float("nan"),
            mean_confidence=float(cf[m].mean()) if k else float("nan"),
        )

    return GradedSignals(
        stats(min_tier, tr >= int(min_tier)),
        tuple(stats(t, tr == int(t)) for t in Tier),
        int(known.sum()),
    )


def tier_mae(stats: tuple[TierStats, ...], min_count: int = 1) -> float:
    """Mean |predicted tier win rate - realised| over emitting tiers with at least `min_count` calls.

    NaN when no emitting tier has enough calls (nothing to judge, which is not a pass).
    """
    gaps = [s.calibration_gap for s in stats if s.tier in EMITTING_TIERS and s.count >= min_count]
    return float(np.mean(gaps)) if gaps else float("nan")


def accuracy_by_session(
    y: object, p: object, ts_ms: object, hours: SessionHours = DEFAULT_SESSION_HOURS
) -> dict[Session, tuple[float, int]]:
    """(accuracy, count) per trading session; sessions overlap, so a bar may count in several."""
    ok = correct(y, p)
    masks = session_masks(np.asarray(ts_ms, dtype=np.int64), hours)
    out: dict[Session, tuple[float, int]] = {}
    for s, m in masks.items():
        k = int(m.sum())
        out[s] = (float(ok[m].mean()) if k else float("nan"), k)
    return out


def newey_west_se(x: object, lags: int) -> float:
    """Standard error of the mean of a series whose neighbours are correlated (Bartlett-kernel HAC).

    Labels over a horizon of h bars overlap, so consecutive per-signal returns share h-1 bars of
    price path; `lags = h - 1` accounts for that. Falls back to the iid error for lags=0.
    """
    xs = _f(x)
    n = xs.shape[0]
    if n < 2:
        return float("nan")
    d = xs - xs.mean()
    var = float(d @ d) / n
    for k in range(1, min(lags, n - 1) + 1):
        w = 1.0 - k / (lags + 1.0)
        var += 2.0 * w * float(d[k:] @ d[:-k]) / n
    return math.sqrt(max(var, 0.0) / n)


@attrs.frozen
class Expectancy:
    """Mean return per trade after costs, in basis points, with a normal-approximation CI."""

    count: int
    gross_bps: float
    cost_bps: float
    net_bps: float
    ci_low_bps: float
    ci_high_bps: float


def trade_expectancy(net_bps: object, cost_bps: float, z: float = 1.96) -> Expectancy:
    """Mean net return per trade (bps of notional, after every cost) with its normal-approximation CI;
    `cost_bps` is the trades' mean cost, so gross = net + cost. The trades of one pair never overlap
    (one position per pair), so the plain standard error serves; fewer than two trades have no CI."""
    x = _f(net_bps)
    k = int(x.shape[0])
    nan = float("nan")
    if k == 0:
        return Expectancy(0, nan, nan, nan, nan, nan)
    mean = float(x.mean())
    se = newey_west_se(x, 0)  # NaN below two trades
    return Expectancy(k, mean + cost_bps, cost_bps, mean, mean - z * se, mean + z * se)


def _kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (asymptotic two-sample KS p-value)."""
    if x <= 0:
        return 1.0
    k = np.arange(1, 101)
    s = 2.0 * np.sum((-1.0) ** (k - 1) * np.exp(-2.0 * (k * x) ** 2))
    return float(min(max(s, 0.0), 1.0))


def ks_two_sample(a: object, b: object) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic D and its asymptotic p-value (NaNs dropped)."""
    xa, xb = _f(a), _f(b)
    xa, xb = np.sort(xa[~np.isnan(xa)]), np.sort(xb[~np.isnan(xb)])
    na, nb = xa.shape[0], xb.shape[0]
    if na == 0 or nb == 0:
        return float("nan"), float("nan")
    grid = np.concatenate((xa, xb))
    cdf_a = np.searchsorted(xa, grid, side="right") / na
    cdf_b = np.searchsorted(xb, grid, side="right") / nb
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(na * nb / (na + nb))
    return d, _kolmogorov_sf((en + 0.12 + 0.11 / en) * d)
