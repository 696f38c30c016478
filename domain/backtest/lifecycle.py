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
_STOP_LOSS = int(ExitReason.STOP_LOSS)
_TIME = int(ExitReason.TIME)
_END_OF_DATA = int(ExitReason.END_OF_DATA)


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
    e = np.ascontiguousarray(entry_bar, dtype=np.int64)
    sg = np.ascontiguousarray(sign, dtype=np.int64)
    slc = np.ascontiguousarray(sl, dtype=np.float64)
    tpc = np.ascontiguousarray(tp, dtype=np.float64)
    first, hit, is_sl, both = _first_touch(bars.high, bars.low, e, sg, slc, tpc, horizon)
    exit_bar = e + first
    at_ms = bars.ts[np.minimum(exit_bar, n - 1)] + period
    if fine is not None and bool(both.any()):
        amb = np.flatnonzero(both)
        fine_sl, fine_at = _resolve_in_fine_bars(fine, bars.ts[exit_bar[amb]], period, sg[amb] > 0, slc[amb], tpc[amb])
        is_sl[amb] = fine_sl
        at_ms[amb] = np.where(fine_at >= 0, fine_at, at_ms[amb])
    reason, exit_bar, at_ms, price, worst = _exit_of(
        bars.ts,
        bars.open,
        bars.high,
        bars.low,
        bars.close,
        period,
        e,
        sg,
        slc,
        tpc,
        horizon,
        hit,
        is_sl,
        exit_bar,
        at_ms,
    )
    return Exits(exit_bar, price, reason, at_ms, worst)


@numba.njit(cache=True)
def _np_min(a: float, b: float) -> float:
    """numpy.minimum on two floats: NaN if either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return np.nan
    return a if a <= b else b


@numba.njit(cache=True)
def _np_max(a: float, b: float) -> float:
    """numpy.maximum on two floats: NaN if either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return np.nan
    return a if a >= b else b


@numba.njit(cache=True)
def _first_touch(
    high: FloatArray, low: FloatArray, entry_bar: IntArray, sign: IntArray, sl: FloatArray, tp: FloatArray, horizon: int
) -> tuple[IntArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per trade: the first of its `horizon` bars that touches the stop or the target (0 if none), whether
    one does, whether that bar touches the stop, and whether it touches both (bars past the data touch
    nothing)."""
    n, m = high.shape[0], entry_bar.shape[0]
    first = np.zeros(m, dtype=np.int64)
    hit = np.zeros(m, dtype=np.bool_)
    is_sl = np.zeros(m, dtype=np.bool_)
    both = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        long = sign[j] > 0
        for t in range(horizon):
            i = entry_bar[j] + t
            if i >= n:
                break
            h, lo = high[i], low[i]
            sl_hit = lo <= sl[j] if long else h >= sl[j]
            tp_hit = h >= tp[j] if long else lo <= tp[j]
            if sl_hit or tp_hit:
                first[j], hit[j], is_sl[j], both[j] = t, True, sl_hit, sl_hit and tp_hit
                break
    return first, hit, is_sl, both


@numba.njit(cache=True)
def _exit_of(
    ts: IntArray,
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int,
    entry_bar: IntArray,
    sign: IntArray,
    sl: FloatArray,
    tp: FloatArray,
    horizon: int,
    hit: npt.NDArray[np.bool_],
    is_sl: npt.NDArray[np.bool_],
    touch_bar: IntArray,
    touch_ms: IntArray,
) -> tuple[npt.NDArray[np.int8], IntArray, IntArray, FloatArray, FloatArray]:
    """Per trade: reason, exit bar, when it is known, price, and the most adverse price while open.
    Untouched: a time exit at the horizon's last bar (or the data's). A stop gapped through fills at
    the open; a target at the target; NaN prices propagate as numpy's minimum/maximum do."""
    n, m = ts.shape[0], entry_bar.shape[0]
    reason = np.empty(m, dtype=np.int8)
    exit_bar = np.empty(m, dtype=np.int64)
    at_ms = np.empty(m, dtype=np.int64)
    price = np.empty(m, dtype=np.float64)
    worst = np.empty(m, dtype=np.float64)
    for j in range(m):
        long = sign[j] > 0
        e = entry_bar[j]
        if hit[j]:
            reason[j] = _STOP_LOSS if is_sl[j] else _TAKE_PROFIT
            xb, at = touch_bar[j], touch_ms[j]
        else:
            reason[j] = _TIME if e + horizon - 1 <= n - 1 else _END_OF_DATA
            xb = min(e + horizon - 1, n - 1)
            at = ts[xb] + period
        exit_bar[j], at_ms[j] = xb, at
        op = open_[xb]
        if reason[j] == _STOP_LOSS:
            px = _np_min(op, sl[j]) if long else _np_max(op, sl[j])
        elif reason[j] == _TAKE_PROFIT:
            px = tp[j]
        else:
            px = close[xb]
        price[j] = px
        w = np.inf if long else -np.inf
        for i in range(e, xb + 1):
            w = _np_min(w, low[i]) if long else _np_max(w, high[i])
        if reason[j] == _STOP_LOSS:  # a stop fill caps the worst price
            w = _np_max(w, px) if long else _np_min(w, px)
        worst[j] = w
    return reason, exit_bar, at_ms, price, worst


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
