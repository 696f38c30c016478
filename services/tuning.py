"""Tuning use cases without a framework: the search space and the score of one trial's folds.

- `parse_space(text)`: the config's `tuning.space` ("name=lo..hi,..."; integers when both ends are)
  into `Param`s, checked against the names the tuner knows (`KNOWN_PARAMS`).
- `score_folds(results, ...)`: a trial's objective values from the engine results of its validation
  folds: expectancy after costs (mean net P&L per trade, account currency: fills carry spread,
  slippage and latency, commission is charged) and the FTMO challenge pass rate (historical rolling
  starts of domain.challenge on each fold's days, run through the backtest kernel, pooled), plus the
  daily P&L on each fold's day grid (the overfitting check's returns matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from domain.backtest.engine import EngineResult
from domain.challenge import ChallengeSettings, DaySource, run_attempts
from domain.errors import ConfigError

DAY_MS = 86_400_000

# name -> what it sets (composition.tuning.objective applies them through the one settings builder)
KNOWN_PARAMS: dict[str, str] = {
    "sl_atr_mult": "stop distance in ATRs",
    "reward_risk": "take-profit distance / stop distance",
    "tier_low": "confidence of the LOW tier",
    "tier_medium": "confidence of the MEDIUM tier",
    "tier_high": "confidence of the HIGH tier",
    "hysteresis_scans": "scans a tier must hold before a signal",
    "horizon_bars": "time exit / label horizon in bars",
    "risk_pct": "risk per trade, % of balance",
}


@attrs.frozen
class Param:
    name: str
    low: float
    high: float
    integer: bool


def _number(text: str, where: str) -> tuple[float, bool]:
    t = text.strip()
    try:
        return (float(int(t)), True) if t.lstrip("-").isdigit() else (float(t), False)
    except ValueError:
        raise ConfigError(f"tuning.space: {where}: {text!r} is not a number") from None


def parse_space(text: str) -> tuple[Param, ...]:
    """`tuning.space` into parameters; ConfigError names the bad entry and what is allowed."""
    out: list[Param] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        name, sep, rng = item.partition("=")
        name = name.strip()
        lo_s, dots, hi_s = rng.partition("..")
        if not sep or not dots:
            raise ConfigError(f"tuning.space: {item!r}: expected name=lo..hi")
        if name not in KNOWN_PARAMS:
            raise ConfigError(f"tuning.space: unknown parameter {name!r}; known: {', '.join(KNOWN_PARAMS)}")
        (lo, lo_int), (hi, hi_int) = _number(lo_s, name), _number(hi_s, name)
        if not lo < hi:
            raise ConfigError(f"tuning.space: {name}: low {lo:g} must be below high {hi:g}")
        out.append(Param(name, lo, hi, lo_int and hi_int))
    if not out:
        raise ConfigError("tuning.space is empty: give at least one name=lo..hi")
    if len({p.name for p in out}) != len(out):
        raise ConfigError("tuning.space names a parameter twice")
    return tuple(out)


@attrs.frozen
class FoldSpan:
    """One validation fold's [start, end) ms (its day grid for the daily P&L)."""

    start_ms: int
    end_ms: int

    @property
    def days(self) -> int:
        return max(1, -(-(self.end_ms - self.start_ms) // DAY_MS))


@attrs.frozen(eq=False)
class TrialScore:
    expectancy: float  # mean net P&L per trade over every fold, account currency (0 without trades)
    pass_rate: float  # FTMO challenge pass rate, historical rolling starts pooled over the folds
    trades: int
    pnl: float
    attempts: int
    daily_pnl: npt.NDArray[np.float64]  # per day of each fold's grid, folds concatenated

    def as_dict(self) -> dict[str, float | int]:
        return {
            "expectancy": self.expectancy,
            "pass_rate": self.pass_rate,
            "trades": self.trades,
            "pnl": self.pnl,
            "attempts": self.attempts,
        }


def daily_pnl(result: EngineResult, span: FoldSpan) -> npt.NDArray[np.float64]:
    """Closed P&L per UTC day of the fold (by exit time)."""
    out = np.zeros(span.days)
    exit_ms = np.asarray(result.trades["exit_ms"], dtype=np.int64)
    if exit_ms.shape[0]:
        day = np.clip((exit_ms - span.start_ms) // DAY_MS, 0, span.days - 1)
        np.add.at(out, day, np.asarray(result.trades["pnl"], dtype=np.float64))
    return out


def score_folds(
    results: Sequence[EngineResult],
    spans: Sequence[FoldSpan],
    days: Sequence[DaySource],
    challenge: ChallengeSettings,
    runs: int,
    seed: int,
) -> TrialScore:
    """The trial's objective values from its folds' engine results (each fold on a fresh account) and
    challenge attempts over each fold's days (domain.challenge.KernelDays; fold i's generator seeded
    from (seed, i))."""
    pnl = np.concatenate([np.asarray(r.trades["pnl"], dtype=np.float64) for r in results]) if results else np.zeros(0)
    passed = attempts = 0
    for i, fold_days in enumerate(days):
        tries = run_attempts(fold_days, "historical", runs, challenge, np.random.default_rng([seed, i]))
        attempts += len(tries)
        passed += sum(1 for a in tries if a.outcome == "passed")
    daily = np.concatenate([daily_pnl(r, s) for r, s in zip(results, spans, strict=True)]) if results else np.zeros(0)
    return TrialScore(
        expectancy=float(pnl.mean()) if pnl.shape[0] else 0.0,
        pass_rate=passed / attempts if attempts else 0.0,
        trades=int(pnl.shape[0]),
        pnl=float(pnl.sum()),
        attempts=attempts,
        daily_pnl=daily,
    )


__all__ = ["KNOWN_PARAMS", "FoldSpan", "Param", "TrialScore", "daily_pnl", "parse_space", "score_folds"]
