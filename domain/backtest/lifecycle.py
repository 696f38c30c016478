"""Trade lifecycle on arrays: where each trade leaves the market, at what price and why.

A trade decided at the close of bar i enters at the open of bar i+1 and lives at most `horizon`
bars. Inside a bar we cannot see the path, so we are conservative: a bar that touches both the
stop and the target counts as a stop, unless finer bars of the same instrument cover that bar, in
which case they decide (and a finer bar touching both is again a stop). A stop that the market
gaps through fills at the bar's open (the worse price); a target fills at the target, never better.
Exit levels do not depend on position size or costs, so every candidate's exit is computed once,
vectorised, before the sequential pass.
"""

from __future__ import annotations

import enum

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.market import Candles

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ExitReason(enum.IntEnum):
    TAKE_PROFIT = 0
    STOP_LOSS = 1
    TIME = 2
    END_OF_DATA = 3
    FLATTEN = 4  # closed at a bar's close by FLATTEN_ON_FLOOR: equity crossed a buffered floor


_TAKE_PROFIT = int(ExitReason.TAKE_PROFIT)


def exit_cost_bps_of(spread_bps: float, slippage_bps: float, reason: int) -> float:
    """What an exit fill pays, in bps of its price: half the spread drawn at entry, and the slippage
    unless a resting take-profit filled."""
    return float(exit_cost_bps_at(float(spread_bps), float(slippage_bps), int(reason)))


@numba.njit(cache=True)
def exit_cost_bps_at(spread_bps: float, slippage_bps: float, reason: int) -> float:
    """`exit_cost_bps_of`, compiled (the backtest kernel's exits)."""
    return spread_bps / 2 + (0.0 if reason == _TAKE_PROFIT else slippage_bps)


def closed_trade(
    sign: int,
    entry_fill: float,
    exit_price: float,
    exit_cost_bps: float,
    volume: float,
    contract_size: float,
    fee_bps: float,
) -> tuple[float, float]:
    """(exit fill, P&L) of a trade closed at `exit_price`: the fill pays `exit_cost_bps`, the P&L
    the commission on both fills. The batch engine and the simulated broker close trades with it."""
    fill, pnl = closed_trade_at(
        float(sign), float(entry_fill), float(exit_price), float(exit_cost_bps), float(volume),
        float(contract_size), float(fee_bps),
    )  # fmt: skip
    return float(fill), float(pnl)


@numba.njit(cache=True)
def closed_trade_at(
    sign: float,
    entry_fill: float,
    exit_price: float,
    exit_cost_bps: float,
    volume: float,
    contract_size: float,
    fee_bps: float,
) -> tuple[float, float]:
    """`closed_trade`, compiled (the backtest kernel's exits and flatten)."""
    exit_fill = exit_price * (1.0 - sign * exit_cost_bps / 1e4)
    fee = fee_bps / 1e4 * (entry_fill + exit_fill) * volume * contract_size
    return exit_fill, sign * (exit_fill - entry_fill) * volume * contract_size - fee


@attrs.frozen(eq=False)
class Exits:
    """Per trade: the bar index of the exit, the exit price, the reason and when it is known (ms)."""

    bar: IntArray
    price: FloatArray
    reason: npt.NDArray[np.int8]
    at_ms: IntArray
    worst: FloatArray  # most adverse price while open (low for a long, high for a short), capped at a stop fill


def _first_true(mask: npt.NDArray[np.bool_]) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    any_ = np.asarray(mask.any(axis=1), dtype=np.bool_)
    return np.asarray(mask.argmax(axis=1), dtype=np.int64), any_


def resolve_exits(
    bars: Candles,
    entry_bar: IntArray,
    sign: npt.NDArray[np.int8] | IntArray,
    sl: FloatArray,
    tp: FloatArray,
    horizon: int,
    fine: Candles | None = None,
) -> Exits:
    """Exit of every trade entering at the open of `entry_bar` (all arrays of one length).

    `horizon` is the most bars a trade is held (time exit at the close of the last one). A trade
    whose horizon runs past the data exits at the last bar's close with END_OF_DATA.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least one bar")
    n = len(bars)
    m = int(entry_bar.shape[0])
    period = bars.timeframe.ms
    if m == 0:
        z = np.zeros(0, dtype=np.int64)
        return Exits(z, np.zeros(0), np.zeros(0, dtype=np.int8), z.copy(), np.zeros(0))
    if int(entry_bar.min()) < 0 or int(entry_bar.max()) >= n:
        raise ValueError("entry bar out of range")
    pad = np.full(horizon, np.nan)
    hi = np.concatenate((bars.high, pad))
    lo = np.concatenate((bars.low, pad))
    idx = entry_bar[:, None] + np.arange(horizon, dtype=np.int64)[None, :]
    h = hi[idx]
    lo_w = lo[idx]
    long = (np.asarray(sign, dtype=np.int64) > 0)[:, None]
    slc = sl[:, None]
    tpc = tp[:, None]
    sl_hit = np.where(long, lo_w <= slc, h >= slc)
    tp_hit = np.where(long, h >= tpc, lo_w <= tpc)
    first, hit = _first_true(sl_hit | tp_hit)
    rows = np.arange(m)
    both = hit & sl_hit[rows, first] & tp_hit[rows, first]
    is_sl = hit & sl_hit[rows, first]

    exit_bar = entry_bar + first
    at_ms = bars.ts[np.minimum(exit_bar, n - 1)] + period
    if fine is not None and bool(both.any()):
        amb = np.flatnonzero(both)
        fine_sl, fine_at = _resolve_in_fine_bars(fine, bars.ts[exit_bar[amb]], period, long[amb, 0], sl[amb], tp[amb])
        is_sl[amb] = fine_sl
        at_ms[amb] = np.where(fine_at >= 0, fine_at, at_ms[amb])

    # no touch: time exit at the last bar of the horizon (or of the data)
    last = np.minimum(entry_bar + horizon - 1, n - 1)
    reason = np.where(
        hit,
        np.where(is_sl, ExitReason.STOP_LOSS, ExitReason.TAKE_PROFIT),
        np.where(entry_bar + horizon - 1 <= n - 1, ExitReason.TIME, ExitReason.END_OF_DATA),
    ).astype(np.int8)
    exit_bar = np.where(hit, exit_bar, last)
    at_ms = np.where(hit, at_ms, bars.ts[last] + period)
    op = bars.open[exit_bar]
    gap_sl = np.where(long[:, 0], np.minimum(op, sl), np.maximum(op, sl))
    price = np.where(
        reason == ExitReason.STOP_LOSS, gap_sl, np.where(reason == ExitReason.TAKE_PROFIT, tp, bars.close[exit_bar])
    )
    held = np.arange(horizon)[None, :] <= (exit_bar - entry_bar)[:, None]
    worst = np.where(
        long[:, 0],
        np.where(held, lo_w, np.inf).min(axis=1),
        np.where(held, h, -np.inf).max(axis=1),
    )
    is_stop = reason == ExitReason.STOP_LOSS
    worst = np.where(is_stop, np.where(long[:, 0], np.maximum(worst, price), np.minimum(worst, price)), worst)
    return Exits(
        exit_bar.astype(np.int64), price.astype(np.float64), reason, at_ms.astype(np.int64), worst.astype(np.float64)
    )


def _resolve_in_fine_bars(
    fine: Candles, coarse_ts: IntArray, period: int, long: npt.NDArray[np.bool_], sl: FloatArray, tp: FloatArray
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """For bars touching both levels: replay the finer bars inside them. Returns (is_stop, known_at_ms);
    known_at_ms is -1 where the finer bars do not cover the coarse bar (the stop-first rule stays)."""
    k = max(1, period // fine.timeframe.ms)
    start = np.searchsorted(fine.ts, coarse_ts, side="left")
    pad = np.full(k, np.nan)
    hi = np.concatenate((fine.high, pad))
    lo = np.concatenate((fine.low, pad))
    ts = np.concatenate((fine.ts, np.full(k, np.iinfo(np.int64).max)))
    idx = start[:, None] + np.arange(k, dtype=np.int64)[None, :]
    inside = ts[idx] < (coarse_ts + period)[:, None]
    h = np.where(inside, hi[idx], np.nan)
    lo_w = np.where(inside, lo[idx], np.nan)
    lc = long[:, None]
    sl_hit = np.where(lc, lo_w <= sl[:, None], h >= sl[:, None])
    tp_hit = np.where(lc, h >= tp[:, None], lo_w <= tp[:, None])
    first, hit = _first_true(sl_hit | tp_hit)
    rows = np.arange(first.shape[0])
    is_sl = ~hit | sl_hit[rows, first]
    at = np.where(hit, ts[idx[rows, first]] + fine.timeframe.ms, -1)
    return is_sl, at.astype(np.int64)
