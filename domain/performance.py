"""Backtest performance figures on arrays: drawdown, R distribution, exposure, hit rates, baselines.

Money figures come from the engine's trade table (one row per emitted signal); every function is
vectorised and pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from domain.market import Session, session_masks

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@attrs.frozen(eq=False)
class EquityCurve:
    """Balance after each closed trade (closes in time order), starting with the initial balance at t0."""

    at_ms: IntArray
    balance: FloatArray


def equity_curve(initial: float, t0_ms: int, exit_ms: IntArray, pnl: FloatArray) -> EquityCurve:
    o = np.argsort(exit_ms, kind="stable")
    at = np.concatenate(([t0_ms], np.asarray(exit_ms, dtype=np.int64)[o]))
    bal = initial + np.concatenate(([0.0], np.cumsum(np.asarray(pnl, dtype=np.float64)[o])))
    return EquityCurve(at.astype(np.int64), bal)


@attrs.frozen
class Drawdown:
    max_pct: float  # deepest fall from a running peak, percent of that peak
    avg_pct: float  # mean depth over the points spent below a peak (0 if never)
    max_duration_ms: int  # longest time from a peak to the recovery of that peak (or to the end)


def drawdown_series(balance: FloatArray) -> FloatArray:
    """Percent below the running peak at each point (>= 0)."""
    b = np.asarray(balance, dtype=np.float64)
    if b.shape[0] == 0:
        return np.zeros(0)
    peak = np.maximum.accumulate(b)
    return np.asarray((peak - b) / peak * 100.0, dtype=np.float64)


def drawdown(curve: EquityCurve) -> Drawdown:
    dd = drawdown_series(curve.balance)
    if dd.shape[0] == 0:
        return Drawdown(0.0, 0.0, 0)
    under = dd > 0
    # duration: time since the last point at a peak
    at_peak_time = np.where(~under, curve.at_ms, np.iinfo(np.int64).min)
    last_peak = np.maximum.accumulate(at_peak_time)
    dur = np.where(under, curve.at_ms - last_peak, 0)
    return Drawdown(
        max_pct=float(dd.max()),
        avg_pct=float(dd[under].mean()) if bool(under.any()) else 0.0,
        max_duration_ms=int(dur.max()),
    )


@attrs.frozen
class RDistribution:
    count: int
    mean: float
    median: float
    p10: float
    p90: float
    win_rate: float  # share of trades with R > 0
    expectancy_r: float  # same as mean; kept for readers of the report
    histogram_edges: tuple[float, ...]
    histogram_counts: tuple[int, ...]


R_EDGES: tuple[float, ...] = (-3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3)


def r_distribution(r: FloatArray, edges: Sequence[float] = R_EDGES) -> RDistribution:
    x = np.asarray(r, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    if x.shape[0] == 0:
        nan = float("nan")
        return RDistribution(0, nan, nan, nan, nan, nan, nan, tuple(e.tolist()), tuple([0] * (e.shape[0] + 1)))
    # bins: (-inf, e0), [e0, e1), ..., [e_last, inf)
    counts = np.bincount(np.searchsorted(e, x, side="right"), minlength=e.shape[0] + 1)
    q10, q50, q90 = np.quantile(x, [0.1, 0.5, 0.9])
    return RDistribution(
        count=int(x.shape[0]),
        mean=float(x.mean()),
        median=float(q50),
        p10=float(q10),
        p90=float(q90),
        win_rate=float((x > 0).mean()),
        expectancy_r=float(x.mean()),
        histogram_edges=tuple(e.tolist()),
        histogram_counts=tuple(int(c) for c in counts),
    )


def exposure(entry_ms: IntArray, exit_ms: IntArray, start_ms: int, end_ms: int) -> float:
    """Share of [start, end) with at least one position open (union of the trades' intervals)."""
    if end_ms <= start_ms or np.asarray(entry_ms).shape[0] == 0:
        return 0.0
    a = np.clip(np.asarray(entry_ms, dtype=np.int64), start_ms, end_ms)
    b = np.clip(np.asarray(exit_ms, dtype=np.int64), start_ms, end_ms)
    o = np.argsort(a, kind="stable")
    a, b = a[o], b[o]
    reach = np.maximum.accumulate(b)
    # a new block starts where an entry comes after everything before it has closed
    new = np.concatenate(([True], a[1:] > reach[:-1]))
    starts = a[new]
    block_id = np.cumsum(new) - 1
    ends = np.zeros(starts.shape[0], dtype=np.int64)
    np.maximum.at(ends, block_id, b)
    return float((ends - starts).sum() / (end_ms - start_ms))


def hit_rate_by_session(entry_ms: IntArray, won: npt.NDArray[np.bool_]) -> dict[str, tuple[float, int]]:
    """(hit rate, trades) per session of the entry time; sessions overlap, so a trade may count twice."""
    masks = session_masks(np.asarray(entry_ms, dtype=np.int64))
    w = np.asarray(won, dtype=bool)
    out: dict[str, tuple[float, int]] = {}
    for s in Session:
        m = masks[s]
        k = int(m.sum())
        out[s.value] = (float(w[m].mean()) if k else float("nan"), k)
    outside = ~np.logical_or.reduce([masks[s] for s in Session]) if w.shape[0] else np.zeros(0, dtype=bool)
    k = int(outside.sum())
    out["off_hours"] = (float(w[outside].mean()) if k else float("nan"), k)
    return out


def hit_rate_by_group(
    keys: IntArray, won: npt.NDArray[np.bool_], labels: Mapping[int, str]
) -> dict[str, tuple[float, int]]:
    k = np.asarray(keys, dtype=np.int64)
    w = np.asarray(won, dtype=bool)
    out: dict[str, tuple[float, int]] = {}
    for code, name in labels.items():
        m = k == code
        n = int(m.sum())
        out[name] = (float(w[m].mean()) if n else float("nan"), n)
    return out


def net_return_bps(sign: IntArray, entry_fill: FloatArray, exit_fill: FloatArray, fee_bps: float) -> FloatArray:
    """Per trade: signed price return of the fills in bps, less the two commissions."""
    s = np.asarray(sign, dtype=np.float64)
    gross = s * (exit_fill - entry_fill) / entry_fill * 1e4
    return np.asarray(gross - fee_bps * (1.0 + exit_fill / entry_fill), dtype=np.float64)


def buy_and_hold_pct(first_open: float, last_close: float, round_trip_cost_bps: float = 0.0) -> float:
    return (last_close / first_open - 1.0) * 100.0 - round_trip_cost_bps / 100.0


def persistence_sign(close: FloatArray, bar: IntArray) -> IntArray:
    """The naive persistence call at bar i: the direction of bar i's own move (close[i] vs close[i-1])."""
    c = np.asarray(close, dtype=np.float64)
    i = np.asarray(bar, dtype=np.int64)
    prev = c[np.maximum(i - 1, 0)]
    return np.where(c[i] >= prev, 1, -1).astype(np.int64)


def same_trades_return_bps(
    sign: IntArray, open_next: FloatArray, exit_close: FloatArray, one_way_cost_bps: FloatArray, fee_bps: float
) -> FloatArray:
    """Net bps of holding `sign` from the entry bar's open to a fixed exit price, paying the given costs
    on both sides: how a baseline's calls fare over the very same holding periods as ours."""
    s = np.asarray(sign, dtype=np.float64)
    gross = s * (np.asarray(exit_close) / np.asarray(open_next) - 1.0) * 1e4
    return np.asarray(gross - 2.0 * np.asarray(one_way_cost_bps) - 2.0 * fee_bps, dtype=np.float64)
