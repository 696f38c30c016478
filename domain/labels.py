"""Labels that match the trade: what a model is graded on, per bar t (decided at the close of bar t).

- `direction`: close[t+h] > close[t] (the 15-minute label the product started with, any horizon h).
- `barrier` (triple barrier): the trade the runtime would open at t, run through the runtime's own
  exit rule (`domain.backtest.lifecycle.resolve_exits`: entry at the open of t+1, stop at
  `sl_atr_mult` x the stop ATR from close[t], target at `reward_risk` x that distance, time exit
  after `horizon` bars, a bar touching both counts as the stop), once long and once short. Label 1
  when the long trade returns more than the short one, 0 when less: exactly the choice `prob_up`
  makes in the kernel. `long_hit_target` / `short_hit_target` say whether that trade reached its
  target before its stop (the classic first-barrier question).
- `meta`: given a primary direction per bar (+1/-1, 0 = none), 1 when that trade's return after
  `cost_bps` is positive: a second model learns whether to take the primary signal.

Every label is NaN where its bars are not all present and consecutive (a gap, or the data's end):
no label crosses a hole in the data. Labels look ahead by construction; features never read them.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from domain.backtest.lifecycle import ExitReason, resolve_exits
from domain.cleaning import valid_window_mask
from domain.market import Candles
from domain.volatility import stop_atr

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LABEL_KINDS = ("direction", "barrier", "meta")


@attrs.frozen
class BarrierSpec:
    """The runtime's exit rule (domain.backtest.engine.EngineConfig's fields of the same names)."""

    atr_window: int = 14
    sl_atr_mult: float = 1.5
    reward_risk: float = 2.0
    fallback_sl_pct: float = 1.0
    horizon_bars: int = 3


def horizon_ok(candles: Candles, horizon: int) -> BoolArray:
    """True at t when bars t..t+horizon exist and are consecutive."""
    n = len(candles)
    ok = np.zeros(n, dtype=np.bool_)
    if n > horizon:
        ok[: n - horizon] = valid_window_mask(candles.ts, candles.timeframe, horizon + 1)[horizon:]
    return ok


def direction(candles: Candles, horizon: int) -> FloatArray:
    """1.0 when close[t+h] > close[t], 0.0 when not, NaN where the horizon is unavailable."""
    if horizon < 1:
        raise ValueError("horizon must be >= 1 bar")
    c = candles.close
    n = c.shape[0]
    out = np.full(n, np.nan)
    ok = horizon_ok(candles, horizon)
    up = np.zeros(n, dtype=np.float64)
    up[: n - horizon] = (c[horizon:] > c[: n - horizon]).astype(np.float64)
    out[ok] = up[ok]
    return out


def forward_return(candles: Candles, horizon: int) -> FloatArray:
    """close[t+h] / close[t] - 1 (NaN where the horizon is unavailable)."""
    c = candles.close
    n = c.shape[0]
    out = np.full(n, np.nan)
    ok = horizon_ok(candles, horizon)
    r = np.full(n, np.nan)
    r[: n - horizon] = c[horizon:] / c[: n - horizon] - 1.0
    out[ok] = r[ok]
    return out


@attrs.frozen(eq=False)
class TradeOutcomes:
    """The runtime's trade from every bar, long and short: gross return (exit / entry - 1, signed) and
    whether the target came first. NaN / False where the trade is not defined (`ok` False)."""

    ok: BoolArray
    long_return: FloatArray
    short_return: FloatArray
    long_hit_target: BoolArray
    short_hit_target: BoolArray


def trade_outcomes(candles: Candles, spec: BarrierSpec) -> TradeOutcomes:
    """Both sides' trade from every bar t through the runtime's exit rule; vectorised over bars."""
    n = len(candles)
    h = spec.horizon_bars
    # entry at the open of t+1, exit by the close of t+h: bars t..t+h must be consecutive
    ok = horizon_ok(candles, h)
    a = stop_atr(candles.high, candles.low, candles.close, spec.atr_window)
    ref = candles.close
    dist = a * spec.sl_atr_mult
    with np.errstate(invalid="ignore"):
        dist = np.where(dist > 0, dist, ref * spec.fallback_sl_pct / 100.0)
    t = np.flatnonzero(ok).astype(np.int64)
    lr = np.full(n, np.nan)
    sr = np.full(n, np.nan)
    lh = np.zeros(n, dtype=np.bool_)
    sh = np.zeros(n, dtype=np.bool_)
    if t.shape[0]:
        entry_bar = t + 1
        entry = candles.open[entry_bar]
        for sign, ret, hit in ((1, lr, lh), (-1, sr, sh)):
            sg = np.full(t.shape[0], sign, dtype=np.int64)
            sl = ref[t] - sign * dist[t]
            tp = ref[t] + sign * dist[t] * spec.reward_risk
            ex = resolve_exits(candles, entry_bar, sg, sl, tp, h)
            ret[t] = sign * (ex.price / entry - 1.0)
            hit[t] = ex.reason == ExitReason.TAKE_PROFIT
    return TradeOutcomes(ok, lr, sr, lh, sh)


def barrier(outcomes: TradeOutcomes) -> FloatArray:
    """1.0 when the long trade returns more than the short one, 0.0 when less, NaN when undefined or
    equal (both flat)."""
    out = np.full(outcomes.ok.shape[0], np.nan)
    lr, sr = outcomes.long_return, outcomes.short_return
    with np.errstate(invalid="ignore"):
        out[outcomes.ok & (lr > sr)] = 1.0
        out[outcomes.ok & (lr < sr)] = 0.0
    return out


def meta(outcomes: TradeOutcomes, primary: IntArray | FloatArray, cost_bps: float | FloatArray) -> FloatArray:
    """1.0 when the primary side's trade nets more than `cost_bps` (round trip; a scalar or one value
    per bar), 0.0 when not, NaN where there is no primary signal or no trade."""
    p = np.asarray(primary, dtype=np.float64)
    cost = np.broadcast_to(np.asarray(cost_bps, dtype=np.float64), p.shape)
    ret = np.where(p > 0, outcomes.long_return, np.where(p < 0, outcomes.short_return, np.nan))
    out = np.full(p.shape[0], np.nan)
    ok = outcomes.ok & (p != 0) & np.isfinite(ret)
    out[ok] = (ret[ok] * 1e4 > cost[ok]).astype(np.float64)
    return out
