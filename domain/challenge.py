"""FTMO challenge simulator: challenge attempts run through the backtest kernel, day by day.

An attempt is a sequence of historical Prague days. Each day is one walk of the backtest's compiled
kernel (domain.backtest.engine.walk over that day's window of a prepared run, `KernelDays`): the live
desk's decisions, sizing, guard, floors and halts on an account that enters the day flat at the
attempt's balance, with the attempt's FTMO ledger (its day-start balance, and the highest end-of-day
balance a one-step trailing floor needs). Simplifications (METHOD_NOTE, printed in the report): a day's trades all
settle in that day's walk (a trade still open at midnight holds at most `horizon_bars` bars and is
booked into its entry day), and the rate-limit window and the loss backoff start afresh each day.

Two ways to draw challenge attempts:
- historical: start on evenly spaced Prague days of the backtest and replay the days as they came;
- bootstrap: string together blocks of `block_days` consecutive historical days, drawn with a
  seeded Generator, so day-level streaks and quiet spells stay intact.

The attempt judges each day against the rules (`domain.ftmo.FtmoRules`): the day's lowest equity (the
kernel's bar-close checks, and each trade's worst floating point on top of the equity it entered at)
below FTMO's own daily or max-loss floor is a failure (breach by rule); below our buffered floors on a
day the account entered above them, a guardrail violation (an episode, as the backtest counts its
breach episodes; the plan's gate requires zero); the profit target, minimum trading days and
(one-step) the best-day rule decide a pass at a day's end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs
import numpy as np
import numpy.typing as npt

from domain.backtest.engine import Prepared, walk
from domain.ftmo import FtmoRules, FtmoState, best_day_share, check, progress
from domain.prague_time import prague_day, prague_midnight_ms

IntArray = npt.NDArray[np.int64]

_SYNTHETIC_DAY0 = 20_000  # the replayed days are laid on a calendar from this Prague day on
OUTCOMES = ("passed", "daily_loss", "max_loss", "timeout", "end_of_data")
# what the report says of the method (the module docstring's simplifications)
METHOD_NOTE = (
    "Each replayed day is one walk of the backtest kernel on the attempt's account, which enters the day "
    "flat at the attempt's balance; a trade still open at midnight settles in its entry day's walk (it "
    "holds at most the horizon's bars); the rate-limit window and the loss backoff start afresh each day. "
    "A day's lowest equity (the bar-close checks, and each trade's worst point on the equity it entered "
    "at) below FTMO's floors fails the attempt; below our buffered floors on a day entered above them, "
    "it is one guardrail violation."
)


@attrs.frozen
class Day:
    """One replayed day on the attempt's account."""

    balance: float  # at the day's end, every trade of the day settled
    low: float  # the day's lowest equity
    trades: int  # trades opened (a trading day when > 0)


class DaySource(Protocol):
    """Historical days an attempt replays (day 0 is Prague day `first_day`)."""

    @property
    def first_day(self) -> int: ...

    @property
    def n_days(self) -> int: ...

    def day(self, d: int, balance: float, max_eod_balance: float, rng: np.random.Generator) -> Day: ...


@attrs.frozen(eq=False)
class KernelDays:
    """The Prague days of a prepared backtest run, each replayed through the kernel on demand."""

    prep: Prepared
    first_day: int
    windows: tuple[tuple[int, int, int, int], ...]  # per day: events [k0, k1), grid closes [g0, g1)

    @property
    def n_days(self) -> int:
        return len(self.windows)

    @classmethod
    def build(cls, prep: Prepared, first_ms: int, last_ms: int) -> KernelDays:
        """The days from the one holding `first_ms` to the one holding `last_ms` (empty days included)."""
        lo, hi = prague_day(first_ms), prague_day(last_ms)
        edges = [prague_midnight_ms(d) for d in range(lo, hi + 2)]
        return cls(prep, lo, tuple(prep.window(edges[i], edges[i + 1]) for i in range(hi - lo + 1)))

    def day(self, d: int, balance: float, max_eod_balance: float, rng: np.random.Generator) -> Day:
        res = walk(self.prep, rng, balance, max_eod_balance=max_eod_balance, window=self.windows[d])
        tr = res.trades
        worst = np.asarray(tr["equity_at_entry"], dtype=np.float64) + np.asarray(tr["worst_pnl"], dtype=np.float64)
        low = min(res.lowest_equity, res.final_balance, float(worst.min()) if worst.shape[0] else np.inf)
        return Day(res.final_balance, low, int(worst.shape[0]))


@attrs.frozen
class Attempt:
    start_day: int
    outcome: str  # one of OUTCOMES
    days: int  # calendar days used (to the pass, the breach or the end)
    trading_days: int
    profit_pct: float
    best_day_share: float  # best day's profit / total profit (NaN without profit)
    guardrail_violations: int  # episodes below our buffered floors (days entered above them that went below)
    # one row per day replayed: (end-of-day balance, lowest equity that day, FTMO daily floor, FTMO total floor)
    path: tuple[tuple[float, float, float, float], ...] = ()


@attrs.frozen
class ChallengeSettings:
    rules: FtmoRules = attrs.field(factory=FtmoRules)
    max_days: int = 60
    block_days: int = 5


def attempt(
    days: DaySource, day_seq: IntArray, settings: ChallengeSettings, rng: np.random.Generator, start_day: int = 0
) -> Attempt:
    """Replay the historical days `day_seq` (indices into `days`) as one challenge attempt.

    The account is the runtime's FTMO ledger (domain.ftmo.FtmoState): each replayed day k starts at a
    Prague midnight of a synthetic calendar, the ledger is advanced by that clock (rolled with the balance
    at midnight, the day's P&L booked into its day, trading days marked), and the floors, the trading
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
        day = days.day(int(d), balance, ledger.max_eod_balance, rng)
        if day.trades:
            ledger = ledger.with_trade_opened(t0)
        ours = max(chk.daily_floor, chk.total_floor)
        violations += int(day.low < ours <= balance)  # a day entered below it continues the episode
        failed = ""
        if day.low < chk.ftmo_daily_floor or day.low < chk.ftmo_total_floor:
            failed = "daily_loss" if chk.ftmo_daily_floor >= chk.ftmo_total_floor else "max_loss"
        balance = day.balance
        ledger = ledger.advance(t0 + 1, balance)
        path.append((balance, min(day.low, balance), chk.ftmo_daily_floor, chk.ftmo_total_floor))
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


METHODS = ("historical", "bootstrap")


def run_attempts(
    days: DaySource,
    method: str,
    runs: int,
    settings: ChallengeSettings,
    rng: np.random.Generator,
    on_attempt: Callable[[], None] | None = None,
) -> list[Attempt]:
    """`runs` attempts of `method` (one of METHODS); `on_attempt` is called after each (a progress bar).

    - historical: starts on evenly spaced days (at most one per day), each replaying history from there;
    - bootstrap: day sequences built from random blocks of `block_days` consecutive historical days."""
    n = days.n_days
    if n == 0 or runs <= 0:
        return []
    if method == "historical":
        starts = np.unique(np.linspace(0, n - 1, runs).round().astype(np.int64)) if runs < n else np.arange(n)
        plan = [
            (np.arange(s, min(n, s + settings.max_days), dtype=np.int64), days.first_day + s) for s in starts.tolist()
        ]
    elif method == "bootstrap":
        block = max(1, min(settings.block_days, n))
        nblocks = -(-settings.max_days // block)
        first = rng.integers(0, n - block + 1, size=(runs, nblocks))
        seqs = (first[:, :, None] + np.arange(block)[None, None, :]).reshape(runs, -1)[:, : settings.max_days]
        plan = [(seqs[i].astype(np.int64), -1) for i in range(runs)]
    else:
        raise ValueError(f"unknown challenge method {method!r} (one of {', '.join(METHODS)})")
    out = []
    for seq, start_day in plan:
        out.append(attempt(days, seq, settings, rng, start_day=start_day))
        if on_attempt is not None:
            on_attempt()
    return out


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
