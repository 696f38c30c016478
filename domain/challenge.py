"""FTMO challenge simulator over a strategy's trade stream.

A trade is replayed as a fraction of the account: `ret = pnl / equity at entry` and
`worst = worst floating P&L / equity at entry` (what the position cost at its most adverse price),
so a risk-based strategy scales with the simulated account as it did in the backtest.

Two ways to draw challenge attempts:
- historical: start on evenly spaced Prague days of the backtest and replay the days as they came;
- bootstrap: string together blocks of `block_days` consecutive historical days, drawn with a
  seeded Generator, so day-level streaks and quiet spells stay intact.

Each attempt runs day by day against the rules (`domain.ftmo.FtmoRules`): FTMO's own daily and
max-loss floors decide a failure (breach by rule), our buffered floors count guardrail violations
(which the plan's gate requires to be zero), the profit target, minimum trading days and (one-step)
the best-day rule decide a pass. Simplification, stated in the report: trades of a day are applied
one after another in entry order, each with its own worst point (overlapping trades' worst points
are not summed).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import numpy.typing as npt

from domain.ftmo import FtmoRules, FtmoState, best_day_share, check, progress
from domain.prague_time import prague_day, prague_midnight_ms

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SYNTHETIC_DAY0 = 20_000  # the replayed days are laid on a calendar from this Prague day on
OUTCOMES = ("passed", "daily_loss", "max_loss", "timeout", "end_of_data")


@attrs.frozen(eq=False)
class TradeStream:
    entry_ms: IntArray
    ret: FloatArray
    worst: FloatArray

    @classmethod
    def from_trades(cls, trades: Mapping[str, npt.NDArray[np.generic]]) -> TradeStream:
        eq = np.asarray(trades["equity_at_entry"], dtype=np.float64)
        return cls(
            np.asarray(trades["entry_ms"], dtype=np.int64),
            np.asarray(trades["pnl"], dtype=np.float64) / eq,
            np.asarray(trades["worst_pnl"], dtype=np.float64) / eq,
        )


@attrs.frozen(eq=False)
class DayTable:
    """Historical Prague days from the first to the last trade day (empty days included)."""

    first_day: int
    offsets: IntArray  # trades of day d are rows offsets[d]:offsets[d+1] of the stream, in entry order
    ret: FloatArray
    worst: FloatArray

    @property
    def n_days(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @classmethod
    def build(cls, stream: TradeStream, first_ms: int | None = None, last_ms: int | None = None) -> DayTable:
        o = np.argsort(stream.entry_ms, kind="stable")
        days = np.array([prague_day(int(t)) for t in stream.entry_ms[o].tolist()], dtype=np.int64)
        lo = prague_day(first_ms) if first_ms is not None else (int(days[0]) if days.shape[0] else 0)
        hi = prague_day(last_ms) if last_ms is not None else (int(days[-1]) if days.shape[0] else lo)
        rel = days - lo
        counts = np.bincount(rel, minlength=hi - lo + 1) if rel.shape[0] else np.zeros(hi - lo + 1, np.int64)
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return cls(lo, offsets, stream.ret[o], stream.worst[o])


@attrs.frozen
class Attempt:
    start_day: int
    outcome: str  # one of OUTCOMES
    days: int  # calendar days used (to the pass, the breach or the end)
    trading_days: int
    profit_pct: float
    best_day_share: float  # best day's profit / total profit (NaN without profit)
    guardrail_violations: int  # points below our buffered floors
    # one row per day replayed: (end-of-day balance, lowest equity that day, FTMO daily floor, FTMO total floor)
    path: tuple[tuple[float, float, float, float], ...] = ()


@attrs.frozen
class ChallengeSettings:
    rules: FtmoRules = attrs.field(factory=FtmoRules)
    max_days: int = 60
    block_days: int = 5


def attempt(table: DayTable, day_seq: IntArray, settings: ChallengeSettings, start_day: int = 0) -> Attempt:
    """Replay the historical days `day_seq` (indices into the table) as one challenge attempt.

    The account is the runtime's FTMO ledger (domain.ftmo.FtmoState): each replayed day k starts at a
    Prague midnight of a synthetic calendar, the ledger is advanced by that clock (rolled with the balance
    at midnight, each trade's P&L booked into its day, trading days marked), and the floors, the trading
    days and the best-day rule are read from it exactly as the live desk reads them."""
    rules = settings.rules
    initial = rules.initial_balance
    balance = initial
    violations = 0
    outcome = "end_of_data"
    used = 0
    path: list[tuple[float, float, float, float]] = []
    ledger = FtmoState.start(prague_midnight_ms(_SYNTHETIC_DAY0) - 1, initial)
    for k, d in enumerate(day_seq.tolist()):
        used = k + 1
        t0 = prague_midnight_ms(_SYNTHETIC_DAY0 + k)
        ledger = ledger.advance(t0, balance)
        chk = check(rules, ledger, balance)
        d_ftmo, d_ours, t_ftmo, t_ours = chk.ftmo_daily_floor, chk.daily_floor, chk.ftmo_total_floor, chk.total_floor
        a, b = int(table.offsets[d]), int(table.offsets[d + 1])
        failed = ""
        day_low = balance
        for i in range(a, b):
            ledger = ledger.with_trade_opened(t0)
            low = balance + float(table.worst[i]) * balance
            day_low = min(day_low, low)
            if low < max(d_ours, t_ours):
                violations += 1
            if low < d_ftmo or low < t_ftmo:
                failed = "daily_loss" if d_ftmo >= t_ftmo else "max_loss"
                break
            balance += float(table.ret[i]) * balance
            ledger = ledger.advance(t0 + 1 + i - a, balance)
        path.append((balance, min(day_low, balance), d_ftmo, t_ftmo))
        if failed:
            outcome = failed
            break
        if progress(rules, ledger, balance).passed:
            outcome = "passed"
            break
        if used >= settings.max_days:
            outcome = "timeout"
            break
    share = best_day_share(ledger.day_profits)
    return Attempt(
        start_day,
        outcome,
        used,
        len(ledger.trading_days),
        (balance - initial) / initial * 100.0,
        float("nan") if share is None else share,
        violations,
        tuple(path),
    )


def historical_attempts(table: DayTable, runs: int, settings: ChallengeSettings) -> list[Attempt]:
    """`runs` attempts starting on evenly spaced days, each replaying history from there."""
    n = table.n_days
    if n == 0 or runs <= 0:
        return []
    starts = np.unique(np.linspace(0, n - 1, runs).round().astype(np.int64)) if runs < n else np.arange(n)
    out = []
    for s in starts.tolist():
        seq = np.arange(s, min(n, s + settings.max_days), dtype=np.int64)
        out.append(attempt(table, seq, settings, start_day=table.first_day + s))
    return out


def bootstrap_attempts(
    table: DayTable, runs: int, settings: ChallengeSettings, rng: np.random.Generator
) -> list[Attempt]:
    """`runs` attempts over day sequences built from random blocks of consecutive historical days."""
    n = table.n_days
    if n == 0 or runs <= 0:
        return []
    block = max(1, min(settings.block_days, n))
    nblocks = -(-settings.max_days // block)
    starts = rng.integers(0, n - block + 1, size=(runs, nblocks))
    seqs = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(runs, -1)[:, : settings.max_days]
    return [attempt(table, seqs[i].astype(np.int64), settings, start_day=-1) for i in range(runs)]


@attrs.frozen
class ChallengeSummary:
    method: str
    kind: str
    runs: int
    pass_rate: float
    avg_days_to_pass: float  # NaN when nothing passed
    avg_trading_days_to_pass: float
    outcomes: tuple[tuple[str, int], ...]  # counts per outcome, breaches by rule included
    guardrail_violations: int
    runs_with_violations: int
    best_day_share_mean: float
    pass_rate_gate: float = 0.70

    @property
    def gate_pass_rate(self) -> bool:
        return self.runs > 0 and self.pass_rate >= self.pass_rate_gate

    @property
    def gate_guardrails(self) -> bool:
        return self.guardrail_violations == 0

    @property
    def breaches_by_rule(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes if k in ("daily_loss", "max_loss")}


def summarise(method: str, attempts: list[Attempt], rules: FtmoRules) -> ChallengeSummary:
    n = len(attempts)
    passed = [a for a in attempts if a.outcome == "passed"]
    shares = [a.best_day_share for a in attempts if a.best_day_share == a.best_day_share]
    return ChallengeSummary(
        method=method,
        kind=rules.kind.value,
        runs=n,
        pass_rate=len(passed) / n if n else float("nan"),
        avg_days_to_pass=float(np.mean([a.days for a in passed])) if passed else float("nan"),
        avg_trading_days_to_pass=float(np.mean([a.trading_days for a in passed])) if passed else float("nan"),
        outcomes=tuple((o, sum(1 for a in attempts if a.outcome == o)) for o in OUTCOMES),
        guardrail_violations=sum(a.guardrail_violations for a in attempts),
        runs_with_violations=sum(1 for a in attempts if a.guardrail_violations > 0),
        best_day_share_mean=float(np.mean(shares)) if shares else float("nan"),
    )
