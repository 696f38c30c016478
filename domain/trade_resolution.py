"""How a trade with a stop and a target exits on OHLC bars: the one rule the outcome tracker and the
paper broker share, so a trade's W/L and exit price are the same in the risk book and the paper account.

Only bars opening at or after the entry count: the bar in progress at entry already had part of its
range before the entry, so its high/low could credit an exit the trade never saw. When one bar touches
both stop and target, OHLC cannot say which came first, so the stop is assumed (conservative). The stop
is a market order: a bar that opens beyond it exits at the open (worse than the stop). The target is a
limit order: it fills at its price, even when the bar opens beyond it.
"""

from __future__ import annotations

import attrs
import numpy as np
from numpy.typing import ArrayLike


@attrs.frozen
class BarExit:
    """The first bar (index into the arrays given) that hit the stop or the target, which one, and the
    exit price the rule gives."""

    index: int
    how: str  # "sl" | "tp"
    price: float


def first_bar_open_ms(entry_time_ms: int, period_ms: int) -> int:
    """Open time of the first bar that starts at or after the entry (ceil to the bar grid)."""
    return -(-entry_time_ms // period_ms) * period_ms


def first_exit(
    direction_sign: int, sl: float, tp: float | None, open_: ArrayLike, high: ArrayLike, low: ArrayLike
) -> BarExit | None:
    """The first of the given bars (all opening at or after the entry) where the stop or the target is
    touched, or None. `direction_sign` is +1 for a long, -1 for a short; `tp=None` means no target."""
    hi, lo, op = np.asarray(high, dtype=float), np.asarray(low, dtype=float), np.asarray(open_, dtype=float)
    if direction_sign > 0:
        hit_sl = lo <= sl
        hit_tp = hi >= tp if tp is not None else np.zeros(hi.shape, dtype=bool)
    else:
        hit_sl = hi >= sl
        hit_tp = lo <= tp if tp is not None else np.zeros(hi.shape, dtype=bool)
    hit = hit_sl | hit_tp
    if not bool(hit.any()):
        return None
    i = int(np.argmax(hit))
    if bool(hit_sl[i]):
        opened = float(op[i])
        gapped = opened < sl if direction_sign > 0 else opened > sl
        return BarExit(i, "sl", opened if gapped else float(sl))
    return BarExit(i, "tp", float(tp if tp is not None else sl))  # hit_tp is all False without a target
