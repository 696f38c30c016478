"""The micro-lot acceptance gate (the plan's phase 7.3): is raising risk justified?

Rules, in the order they are applied:
1. Only closed trades count. Fewer than `min_trades` (100) closed trades: no verdict at all, only
   the figures so far; at 68% the 95% Wilson interval over 100 trades is still about +/-9 points.
2. Latency adjustment: a trade decided slower than the SLA whose fill was SIMULATED (dry-run, paper)
   carries no latency cost in its R, so the gate charges it `latency_penalty_bps` (the execution
   model's p90 slippage) converted into R over the trade's stop distance; a win that this turns
   non-positive becomes a loss. Live micro-lot trades already paid their latency in their fills.
3. Realised vs simulated fills: over trades with both figures, the mean of (realised - expected)
   slippage with a normal-approximation interval. If even its lower bound exceeds the tolerance, the
   execution model under-states costs and must be recalibrated before risk goes up.
4. Verdict: raising risk is justified when the latency-adjusted win rate is >= `target` (0.68) and
   fills agree with the model; with `require_lower_bound` the Wilson lower bound must clear the
   target too (a much stricter bar). The interval is always stated.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import attrs
import numpy as np

from domain.risk_book import TradeRecord
from domain.signals import Mode


class Verdict(enum.StrEnum):
    INSUFFICIENT_DATA = "insufficient_data"
    RAISE_RISK = "raise_risk_justified"
    KEEP_RISK = "keep_risk"


@attrs.frozen
class AcceptanceConfig:
    target: float = 0.68
    min_trades: int = 100
    z: float = 1.96
    latency_sla_ms: float = 500.0
    latency_penalty_bps: float = 0.0
    fill_tolerance_bps: float = 1.0
    require_lower_bound: bool = False

    def __attrs_post_init__(self) -> None:
        if not (0 < self.target < 1 and self.min_trades >= 1 and self.z > 0 and self.latency_penalty_bps >= 0):
            raise ValueError("acceptance: need 0 < target < 1, min_trades >= 1, z > 0, latency_penalty_bps >= 0")


def wilson_interval(wins: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= wins <= n:
        raise ValueError(f"need 0 <= wins <= n, got {wins}/{n}")
    p = wins / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@attrs.frozen
class FillComparison:
    n: int
    realised_mean_bps: float
    simulated_mean_bps: float
    diff_mean_bps: float
    diff_interval_bps: tuple[float, float]
    consistent: bool


@attrs.frozen
class AcceptanceResult:
    n_trades: int
    wins: int
    win_rate: float | None
    interval: tuple[float, float]
    adjusted_wins: int
    adjusted_win_rate: float | None
    adjusted_interval: tuple[float, float]
    n_over_sla: int
    n_penalised: int
    fills: FillComparison | None
    verdict: Verdict
    reasons: tuple[str, ...]


def compare_fills(trades: Sequence[TradeRecord], z: float = 1.96, tolerance_bps: float = 1.0) -> FillComparison | None:
    both = [
        (t.slippage_bps, t.slippage_expected_bps)
        for t in trades
        if t.slippage_bps is not None and t.slippage_expected_bps is not None
    ]
    if not both:
        return None
    arr = np.asarray(both, dtype=np.float64)
    diff = arr[:, 0] - arr[:, 1]
    n = int(diff.shape[0])
    mean = float(diff.mean())
    half = z * float(diff.std(ddof=1)) / math.sqrt(n) if n >= 2 else math.inf
    lo, hi = mean - half, mean + half
    return FillComparison(
        n=n,
        realised_mean_bps=float(arr[:, 0].mean()),
        simulated_mean_bps=float(arr[:, 1].mean()),
        diff_mean_bps=mean,
        diff_interval_bps=(lo, hi),
        consistent=not lo > tolerance_bps,
    )


def _latency_adjusted_r(t: TradeRecord, sla_ms: float, penalty_bps: float) -> tuple[float, bool]:
    r = float(t.r_realized) if t.r_realized is not None else (1.0 if t.result == "W" else -1.0)
    simulated = t.mode in (Mode.DRYRUN, Mode.BACKTEST, Mode.DEMO, Mode.REPLAY)
    if not simulated or t.latency_ms is None or t.latency_ms <= sla_ms or penalty_bps <= 0:
        return r, False
    risk = abs(t.entry_price - t.sl_price)
    if risk <= 0:
        return r, False
    return r - penalty_bps * 1e-4 * t.entry_price / risk, True


def evaluate(trades: Sequence[TradeRecord], cfg: AcceptanceConfig = AcceptanceConfig()) -> AcceptanceResult:
    closed = [t for t in trades if t.result is not None]
    n = len(closed)
    wins = sum(1 for t in closed if t.result == "W")
    adjusted = [_latency_adjusted_r(t, cfg.latency_sla_ms, cfg.latency_penalty_bps) for t in closed]
    adj_wins = sum(1 for t, (r, _pen) in zip(closed, adjusted, strict=True) if t.result == "W" and r > 0)
    n_over = sum(1 for t in closed if t.latency_ms is not None and t.latency_ms > cfg.latency_sla_ms)
    n_pen = sum(1 for _r, pen in adjusted if pen)
    fills = compare_fills(closed, cfg.z, cfg.fill_tolerance_bps)
    interval = wilson_interval(wins, n, cfg.z)
    adj_interval = wilson_interval(adj_wins, n, cfg.z)
    adj_rate = adj_wins / n if n else None
    reasons: list[str] = []
    if n < cfg.min_trades:
        verdict = Verdict.INSUFFICIENT_DATA
        reasons.append(f"{n} closed trades; no verdict before {cfg.min_trades}")
    else:
        ok = True
        rate = adj_wins / n
        if rate < cfg.target:
            ok = False
            reasons.append(f"latency-adjusted win rate {rate:.1%} is below {cfg.target:.0%}")
        if cfg.require_lower_bound and adj_interval[0] < cfg.target:
            ok = False
            reasons.append(f"Wilson lower bound {adj_interval[0]:.1%} is below {cfg.target:.0%}")
        if fills is None:
            reasons.append("no trades with both realised and simulated slippage: fills not compared")
        elif not fills.consistent:
            ok = False
            reasons.append(
                f"realised slippage exceeds the model by {fills.diff_mean_bps:.2f} bps "
                f"(interval {fills.diff_interval_bps[0]:.2f}..{fills.diff_interval_bps[1]:.2f}); "
                "recalibrate the execution model first"
            )
        verdict = Verdict.RAISE_RISK if ok else Verdict.KEEP_RISK
    lo, hi = adj_interval
    reasons.append(f"latency-adjusted win rate {adj_wins}/{n}, {cfg.z:g}-sigma Wilson interval {lo:.1%}..{hi:.1%}")
    return AcceptanceResult(
        n_trades=n,
        wins=wins,
        win_rate=wins / n if n else None,
        interval=interval,
        adjusted_wins=adj_wins,
        adjusted_win_rate=adj_rate,
        adjusted_interval=adj_interval,
        n_over_sla=n_over,
        n_penalised=n_pen,
        fills=fills,
        verdict=verdict,
        reasons=tuple(reasons),
    )
