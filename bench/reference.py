"""A plain-Python reference of our exit rules, written apart from the engine (the bench's oracle).

The rule (docs/backtest.md, domain.trade_resolution): a trade decided at the close of bar i enters at
the open of bar i + 1 and is held at most `horizon` bars. Walking its bars one by one: a bar whose
wick reaches the stop exits at the stop, or at the bar's open when the market opened beyond it (a
stop is a market order); a bar reaching the target exits at the target (a limit order never fills
better); a bar touching both counts as the stop. Without a touch the trade leaves at the close of
its last bar (time exit), or at the last bar of the data when its horizon runs past it.

Fills: the entry at open x (1 + sign x one-way cost), the exit at the raw price x (1 - sign x exit
cost), the exit cost half the spread plus, except for a target, the slippage; commission on both
fills. The per-trade cost draws, volume and contract size are inputs (they come from the account's
sequential state), everything else is recomputed here from the bars.

Deliberately scalar Python over plain floats: no numpy, nothing shared with domain.backtest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

TAKE_PROFIT, STOP_LOSS, TIME, END_OF_DATA = 0, 1, 2, 3  # domain.backtest.lifecycle.ExitReason's values


class RefTrade(NamedTuple):
    exit_bar: int
    reason: int
    raw_exit: float
    entry_fill: float
    exit_fill: float
    pnl: float


def exit_of(
    sign: int,
    entry_bar: int,
    sl: float,
    tp: float,
    horizon: int,
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
) -> tuple[int, int, float]:
    """(exit bar, reason, raw exit price) of one trade entering at the open of `entry_bar`."""
    n = len(close)
    last = entry_bar + horizon - 1
    for j in range(entry_bar, min(last, n - 1) + 1):
        hi, lo, op = high[j], low[j], open_[j]
        if sign > 0:
            if lo <= sl:
                return j, STOP_LOSS, (op if op < sl else sl)
            if hi >= tp:
                return j, TAKE_PROFIT, tp
        else:
            if hi >= sl:
                return j, STOP_LOSS, (op if op > sl else sl)
            if lo <= tp:
                return j, TAKE_PROFIT, tp
    if last <= n - 1:
        return last, TIME, close[last]
    return n - 1, END_OF_DATA, close[n - 1]


def resolve(
    sign: int,
    signal_bar: int,
    sl: float,
    tp: float,
    horizon: int,
    volume: float,
    contract_size: float,
    spread_bps: float,
    slippage_bps: float,
    latency_penalty_bps: float,
    fee_bps: float,
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
) -> RefTrade:
    """One trade decided at the close of `signal_bar`, from entry to P&L."""
    entry_bar = signal_bar + 1
    bar, reason, raw = exit_of(sign, entry_bar, sl, tp, horizon, open_, high, low, close)
    one_way = spread_bps / 2 + slippage_bps + latency_penalty_bps
    entry_fill = open_[entry_bar] * (1.0 + sign * one_way / 1e4)
    exit_cost = spread_bps / 2 + (0.0 if reason == TAKE_PROFIT else slippage_bps)
    exit_fill = raw * (1.0 - sign * exit_cost / 1e4)
    fee = fee_bps / 1e4 * (entry_fill + exit_fill) * volume * contract_size
    pnl = sign * (exit_fill - entry_fill) * volume * contract_size - fee
    return RefTrade(bar, reason, raw, entry_fill, exit_fill, pnl)


def close_enough(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) or a == b
