"""Leakage guard: a feature at bar T must not change when any bar after T changes.

For each cut T, every bar after T is perturbed (prices scaled by random factors, high/low kept
consistent, volume scaled) and the features recomputed; any feature whose value at a row <= T
differs (bit for bit, NaN equal to NaN) reads the future. Also reported: whether each feature
reacts to the perturbation after T at all, so a pass is not vacuous.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.market import Candles


@attrs.frozen
class FeatureVerdict:
    name: str
    leaks: bool
    first_leak_cut_ms: int | None
    max_abs_diff: float
    reacts_after_cut: bool


@attrs.frozen
class LeakageReport:
    symbol: str
    timeframe: str
    cuts_ms: tuple[int, ...]
    verdicts: tuple[FeatureVerdict, ...]

    @property
    def leaky(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.verdicts if v.leaks)

    @property
    def passed(self) -> bool:
        return not self.leaky


def perturb_after(candles: Candles, cut: int, rng: np.random.Generator, scale: float = 0.05) -> Candles:
    """Copy with every bar at index > cut changed; bars <= cut are untouched."""
    n = len(candles)
    k = n - cut - 1
    if k <= 0:
        return candles
    f = np.exp(rng.normal(0.0, scale, size=(4, k)))
    o, h, lo, c = (a.copy() for a in (candles.open, candles.high, candles.low, candles.close))
    o[cut + 1 :] *= f[0]
    c[cut + 1 :] *= f[1]
    h[cut + 1 :] = np.maximum(np.maximum(o[cut + 1 :], c[cut + 1 :]), h[cut + 1 :] * f[2])
    lo[cut + 1 :] = np.minimum(np.minimum(o[cut + 1 :], c[cut + 1 :]), lo[cut + 1 :] * np.minimum(f[3], 1.0))
    v = candles.volume.copy()
    v[cut + 1 :] *= np.exp(rng.normal(0.0, 0.5, size=k))
    return Candles(candles.symbol, candles.timeframe, candles.ts, o, h, lo, c, v)


def check_leakage(
    features: Callable[[Candles], FeatureMatrix],
    candles: Candles,
    cuts: Sequence[int],
    rng: np.random.Generator,
) -> LeakageReport:
    """Run the guard at each cut index (0 <= cut < len - 1)."""
    base = features(candles)
    m = len(base.names)
    leaks = np.zeros(m, dtype=np.bool_)
    first_cut: list[int | None] = [None] * m
    max_diff = np.zeros(m)
    reacts = np.zeros(m, dtype=np.bool_)
    for cut in cuts:
        if not 0 <= cut < len(candles) - 1:
            raise ValueError(f"cut {cut} outside 0..{len(candles) - 2}")
        other = features(perturb_after(candles, cut, rng))
        if other.names != base.names:
            raise ValueError("the feature function changed its columns under perturbation")
        a, b = base.values[: cut + 1], other.values[: cut + 1]
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        bad = ~same.all(axis=0)
        with np.errstate(invalid="ignore"):
            diff = np.where(same, 0.0, np.abs(a - b))
        diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on one side only: maximal difference
        max_diff = np.maximum(max_diff, diff.max(axis=0, initial=0.0))
        for j in np.flatnonzero(bad & ~leaks):
            first_cut[j] = int(candles.ts[cut])
        leaks |= bad
        la, lb = base.values[cut + 1 :], other.values[cut + 1 :]
        reacts |= ~((la == lb) | (np.isnan(la) & np.isnan(lb))).all(axis=0)
    verdicts = tuple(
        FeatureVerdict(base.names[j], bool(leaks[j]), first_cut[j], float(max_diff[j]), bool(reacts[j]))
        for j in range(m)
    )
    return LeakageReport(candles.symbol, candles.timeframe.value, tuple(int(candles.ts[c]) for c in cuts), verdicts)


def default_cuts(n: int, count: int, rng: np.random.Generator, margin: int = 0) -> list[int]:
    """`count` distinct cut indices spread over [margin, n-2], sorted."""
    lo, hi = margin, n - 2
    if hi < lo:
        raise ValueError(f"need more than {margin + 1} bars for a leakage check, got {n}")
    count = min(count, hi - lo + 1)
    return sorted(int(x) for x in rng.choice(np.arange(lo, hi + 1), size=count, replace=False))
