"""Tiers from confidence, with hysteresis: upgrade only after N consecutive scans at or above the
new tier's threshold (in the same direction), downgrade at once.

The rule reduces to: the effective tier is the minimum of the last N raw tiers, where a scan in the
other direction, a scan without a prediction (direction 0) or a scan before the history starts
counts as NONE. Written once, over arrays: the backtest runs a pair's whole series in one call, the
live scan cycle runs one scan per pair and carries each pair's memory (`history`) to the next cycle.
"""

from __future__ import annotations

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.signals import TierThresholds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
History = tuple[tuple[int, int], ...]  # the last N-1 scans as (direction sign, raw tier), oldest first


def raw_tiers_batch(confidence: FloatArray, th: TierThresholds) -> IntArray:
    """Tier value (0..3) of each confidence; NaN gives NONE."""
    c = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=-1.0)
    return ((c >= th.low).astype(np.int64) + (c >= th.medium) + (c >= th.high)).astype(np.int64)


@attrs.frozen(eq=False)
class HysteresisRun:
    tier: IntArray  # the effective tier of each scan
    history: History  # the memory after the last scan: what the next call continues from


def hysteresis_run(
    direction_sign: IntArray, raw: IntArray, scans_required: int = 2, history: History = ()
) -> HysteresisRun:
    """Effective tier per row for consecutive scans of one pair (direction 0 = no prediction),
    continuing from `history` (the memory a previous call returned; only its last N-1 scans count)."""
    k = scans_required
    if k < 1:
        raise ValueError("scans_required must be >= 1")
    d = np.asarray(direction_sign, dtype=np.int64)
    r = np.asarray(raw, dtype=np.int64)
    keep = k - 1
    past = tuple(history)[-keep:] if keep else ()
    # The remembered scans, with scans of "nothing" in front up to N-1, then the new ones.
    pad = keep - len(past)
    all_d = np.concatenate([np.zeros(pad, dtype=np.int64), np.array([s for s, _ in past], dtype=np.int64), d])
    all_r = np.concatenate([np.zeros(pad, dtype=np.int64), np.array([t for _, t in past], dtype=np.int64), r])
    if d.shape[0] == 0:
        eff = np.zeros(0, dtype=np.int64)
    elif k == 1:
        eff = np.where(d != 0, r, 0).astype(np.int64)
    else:  # windows of N scans ending at each new row
        eff = _window_min(all_d, all_r, k)
    real = slice(pad, None)  # the padding is not memory
    tail = tuple(zip(all_d[real][-keep:].tolist(), all_r[real][-keep:].tolist(), strict=True)) if keep else ()
    return HysteresisRun(eff, tail)


@numba.njit(cache=True)
def _window_min(all_d: IntArray, all_r: IntArray, k: int) -> IntArray:
    """Per new row i (the last len(all_d) - k + 1 scans): 0 without a direction, else the minimum over
    the k scans ending at it of the raw tier, counting a scan in another direction as 0."""
    n = all_d.shape[0] - k + 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        d = all_d[i + k - 1]
        if d == 0:
            out[i] = 0
            continue
        low = all_r[i + k - 1]
        for j in range(i, i + k - 1):
            v = all_r[j] if all_d[j] == d else 0
            if v < low:
                low = v
        out[i] = low
    return out


def hysteresis_batch(direction_sign: IntArray, raw: IntArray, scans_required: int = 2) -> IntArray:
    """`hysteresis_run` from an empty memory, tiers only (a whole series of one pair)."""
    return hysteresis_run(direction_sign, raw, scans_required).tier
