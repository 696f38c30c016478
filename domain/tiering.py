"""Tiers from confidence, with hysteresis: upgrade only after N consecutive scans at or above the
new tier's threshold (in the same direction), downgrade at once.

The rule reduces to: the effective tier is the minimum of the last N raw tiers, where a scan in the
other direction (or before the history starts) counts as NONE. Scalar and array forms agree.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from domain.signals import Direction, Tier, TierThresholds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def raw_tiers_batch(confidence: FloatArray, th: TierThresholds) -> IntArray:
    """Tier value (0..3) of each confidence; NaN gives NONE."""
    c = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=-1.0)
    return ((c >= th.low).astype(np.int64) + (c >= th.medium) + (c >= th.high)).astype(np.int64)


@attrs.frozen
class Hysteresis:
    """Per-pair memory: the last N-1 scans as (direction sign, raw tier)."""

    scans_required: int = 2
    history: tuple[tuple[int, int], ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.scans_required < 1:
            raise ValueError("scans_required must be >= 1")

    def step(self, direction: Direction, raw: Tier) -> tuple[Hysteresis, Tier]:
        """Feed one scan; returns the new memory and the effective tier."""
        window = (*self.history, (direction.sign, int(raw)))
        n = self.scans_required
        if len(window) < n:
            effective = Tier.NONE
        else:
            effective = Tier(min(t if s == direction.sign else 0 for s, t in window[-n:]))
        keep = window[-(n - 1) :] if n > 1 else ()
        return attrs.evolve(self, history=keep), effective

    def skip(self) -> Hysteresis:
        """A scan without a prediction breaks the streak."""
        return self.step(Direction.LONG, Tier.NONE)[0]


def hysteresis_batch(direction_sign: IntArray, raw: IntArray, scans_required: int = 2) -> IntArray:
    """Effective tier per row for consecutive scans of one pair (0 direction = no prediction)."""
    d = np.asarray(direction_sign, dtype=np.int64)
    r = np.asarray(raw, dtype=np.int64)
    n = d.shape[0]
    k = scans_required
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if k == 1:
        return np.where(d != 0, r, 0)
    # Pad k-1 scans of "nothing" in front, then take windows ending at each row.
    pad_d = np.concatenate([np.zeros(k - 1, dtype=np.int64), d])
    pad_r = np.concatenate([np.zeros(k - 1, dtype=np.int64), r])
    wd = sliding_window_view(pad_d, k)
    wr = sliding_window_view(pad_r, k)
    same = wd == d[:, None]
    eff = np.where(same, wr, 0).min(axis=1)
    return np.where(d != 0, eff, 0).astype(np.int64)
