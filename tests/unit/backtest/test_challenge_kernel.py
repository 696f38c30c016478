"""The challenge simulator: its judge of a day sequence against the FTMO rules, and its days run
through the backtest kernel (domain.challenge.KernelDays over domain.backtest.engine.walk).
Synthetic candles (tests.unit.backtest.test_lifecycle_engine's random walks) test mechanics only."""

from __future__ import annotations

import attrs
import numpy as np

from domain.backtest.engine import Prepared, prepare, run, walk
from domain.challenge import ChallengeSettings, Day, KernelDays, attempt, run_attempts
from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules
from domain.prague_time import prague_day, prague_midnight_ms
from tests.unit.backtest.test_lifecycle_engine import CFG, _random_pairs


@attrs.frozen
class TableDays:
    """A DaySource of given day outcomes, as fractions of the balance the day starts with."""

    ret: tuple[float, ...]
    low: tuple[float, ...]
    first_day: int = 0

    @property
    def n_days(self) -> int:
        return len(self.ret)

    def day(self, d: int, balance: float, max_eod_balance: float, rng: np.random.Generator) -> Day:
        return Day(balance * (1 + self.ret[d]), balance * (1 + self.low[d]), 1 if self.ret[d] else 0)


def test_the_judge_passes_steady_profit_and_fails_a_daily_loss() -> None:
    rng = np.random.default_rng(0)
    steady = TableDays((0.01,) * 12, (-0.002,) * 12)
    a = attempt(steady, np.arange(12), ChallengeSettings(), rng)
    assert a.outcome == "passed" and a.trading_days == 10 and a.days == 10 and a.guardrail_violations == 0
    assert len(a.path) == 10 and abs(a.path[-1][0] - 100_000 * 1.01**10) < 1e-6
    # a day whose lowest equity goes 6 % under its start: FTMO's 5 % daily floor, and our buffer first
    crash = TableDays((-0.01,), (-0.06,))
    a = attempt(crash, np.arange(1), ChallengeSettings(rules=FtmoRules()), rng)
    assert a.outcome == "daily_loss" and a.guardrail_violations == 1
    # 4.7 % under: above FTMO's 5 % floor, below our buffered 4.5 % one (FtmoRules' default buffers)
    near = TableDays((-0.01, 0.0), (-0.047, 0.0))
    a = attempt(near, np.arange(2), ChallengeSettings(max_days=2), rng)
    assert a.outcome == "timeout" and a.guardrail_violations == 1 and a.trading_days == 1


def _prepared(seed: int = 3) -> Prepared:
    return prepare(_random_pairs(seed, 3000), CFG, FixedCostModel(5, 2))


def test_a_day_is_the_full_runs_walk_up_to_its_end() -> None:
    """Day d walked from balance B is what a walk from the same midnight on the same account does until
    the next midnight: every trade entered that day, the same fills, P&L and exits."""
    prep = _prepared()
    t0 = int(prep.grid[0])
    days = KernelDays.build(prep, t0, int(prep.grid[-1]))
    assert days.n_days == prague_day(int(prep.grid[-1])) - prague_day(t0) + 1 >= 10
    whole = run(list(prep.pairs), CFG, FixedCostModel(5, 2), np.random.default_rng(1))
    compared = 0
    for d in (0, 3, days.n_days - 2):
        mid = prague_midnight_ms(days.first_day + d)
        nxt = prague_midnight_ms(days.first_day + d + 1)
        k0, _, g0, _ = prep.window(mid, mid)
        rest = walk(prep, np.random.default_rng(1), 99_000.0, window=(k0, prep.ev_t.shape[0], g0, prep.grid.shape[0]))
        day = walk(prep, np.random.default_rng(1), 99_000.0, window=days.windows[d])
        if d == 0:  # from the start, on the initial balance: the whole run's own first day
            rest = whole
            day = walk(prep, np.random.default_rng(1), CFG.rules.initial_balance, window=days.windows[0])
        entry = np.asarray(rest.trades["entry_ms"], dtype=np.int64)
        in_day = (entry >= mid) & (entry < nxt)
        n = int(in_day.sum())
        assert n == day.trades["entry_ms"].shape[0] and n > 0
        day_entry = np.asarray(day.trades["entry_ms"], dtype=np.int64)
        assert np.all((day_entry >= mid) & (day_entry < nxt))
        for k, v in day.trades.items():
            assert np.array_equal(v, rest.trades[k][:n]), k
        compared += n
        # the day's Day: its balance is every trade of the day settled, its low at most every trade's worst
        out = days.day(d, 99_000.0, 99_000.0, np.random.default_rng(1))
        pnl = np.asarray(day.trades["pnl"], dtype=np.float64)
        if d:
            assert out.balance == day.final_balance and abs(out.balance - 99_000.0 - pnl.sum()) < 1e-6
            assert out.trades == n
            worst = np.asarray(day.trades["equity_at_entry"], np.float64) + np.asarray(
                day.trades["worst_pnl"], np.float64
            )
            assert out.low <= float(worst.min())
    assert compared > 20


def test_kernel_days_keep_the_guard_and_attempts_repeat_with_the_seed() -> None:
    """Every day entered 400 above our buffered total floor (96,000 here) still trades, and the kernel's
    guard keeps each one at or above that floor; the attempts are a function of the seed."""
    prep = _prepared(5)
    days = KernelDays.build(prep, int(prep.grid[0]), int(prep.grid[-1]))
    floor = CFG.rules.total_floor(CFG.rules.initial_balance)
    for d in range(days.n_days):
        out = days.day(d, floor + 400.0, CFG.rules.initial_balance, np.random.default_rng(d))
        assert out.trades > 0 and out.balance >= floor - 1e-6 and out.low >= floor - 1e-6
    settings = ChallengeSettings(rules=CFG.rules, max_days=5, block_days=2)
    h1 = run_attempts(days, "historical", 3, settings, np.random.default_rng(2))
    h2 = run_attempts(days, "historical", 3, settings, np.random.default_rng(2))
    assert repr(h1) == repr(h2) and len(h1) == 3 and all(a.days >= 1 for a in h1)
    b1 = run_attempts(days, "bootstrap", 4, settings, np.random.default_rng(3))
    assert repr(b1) == repr(run_attempts(days, "bootstrap", 4, settings, np.random.default_rng(3))) and len(b1) == 4
    # the one-step trailing floor: an account that brings a higher end-of-day balance has a higher floor,
    # so the kernel's guard trades smaller or blocks (never more P&L at risk than with its own balance)
    one = attrs.evolve(CFG, rules=FtmoRules.one_step(daily_buffer_pct=2.0, total_buffer_pct=4.0))
    p1 = prepare(list(prep.pairs), one, FixedCostModel(5, 2))
    d1 = KernelDays.build(p1, int(p1.grid[0]), int(p1.grid[-1]))
    w = d1.windows[2]
    free = walk(p1, np.random.default_rng(1), 100_000.0, window=w)
    tight = walk(p1, np.random.default_rng(1), 100_000.0, max_eod_balance=106_500.0, window=w)
    assert free.trades["volume"].shape[0] > 0
    assert tight.trades["volume"].sum() < free.trades["volume"].sum()


def test_a_stay_below_our_floor_is_one_violation() -> None:
    """Down 4.4 % twice (inside the daily buffers), then 0.5 % more: under our buffered total floor (91,000
    with the default 9 % buffer), above FTMO's, for three days: one episode, counted on the day the
    account went under, not on the days it entered already under."""
    r = (-0.044, -0.044, -0.005, 0.0, 0.0)
    a = attempt(TableDays(r, r), np.arange(5), ChallengeSettings(max_days=5), np.random.default_rng(0))
    assert a.outcome == "timeout" and a.guardrail_violations == 1
    assert a.path[-1][0] < 91_000 and a.path[-1][0] > 90_000
