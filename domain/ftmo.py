"""FTMO prop-firm rules: daily and total loss floors, profit target, trading days, best-day rule.

Two-step challenge (default):
- Max daily loss: equity (incl. floating P&L, commissions, swaps) must stay above
  `balance at the previous midnight Europe/Prague - limit% x initial balance`.
- Max loss: equity must stay above `initial x (1 - limit%)`.
- Profit target 10% (challenge) / 5% (verification); at least 4 trading days, a day counting when a
  position was opened on it.
One-step (optional): 3% daily; the max-loss floor trails the highest end-of-day balance (it is
recomputed at midnight and stops trailing once it reaches the initial balance); best day <= 50% of
the total profit.

We trade against our own stricter buffers (4.5% / 9% by default), never FTMO's own limits.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs
import numba

from domain.prague_time import day_start_ms, prague_day, prague_midnight_ms


class ChallengeKind(enum.StrEnum):
    TWO_STEP = "two-step"
    ONE_STEP = "one-step"


class Phase(enum.StrEnum):
    CHALLENGE = "challenge"
    VERIFICATION = "verification"
    FUNDED = "funded"


@attrs.frozen
class FtmoRules:
    """Limits in percent of the initial balance. `*_buffer_pct` are ours and must be <= FTMO's."""

    initial_balance: float = 100_000.0
    kind: ChallengeKind = ChallengeKind.TWO_STEP
    phase: Phase = Phase.CHALLENGE
    daily_loss_limit_pct: float = 5.0
    max_loss_limit_pct: float = 10.0
    daily_buffer_pct: float = 4.5
    total_buffer_pct: float = 9.0
    min_trading_days: int = 4
    best_day_max_share: float = 0.5

    def __attrs_post_init__(self) -> None:
        if self.initial_balance <= 0:
            raise ValueError("initial balance must be positive")
        if not 0 < self.daily_buffer_pct <= self.daily_loss_limit_pct:
            raise ValueError("daily buffer must be in (0, FTMO daily limit]")
        if not 0 < self.total_buffer_pct <= self.max_loss_limit_pct:
            raise ValueError("total buffer must be in (0, FTMO max loss limit]")

    @classmethod
    def two_step(cls, initial_balance: float = 100_000.0, **kw: object) -> FtmoRules:
        return cls(initial_balance=initial_balance, **kw)  # type: ignore[arg-type]

    @classmethod
    def one_step(cls, initial_balance: float = 100_000.0, **kw: object) -> FtmoRules:
        base: dict[str, object] = {
            "kind": ChallengeKind.ONE_STEP,
            "daily_loss_limit_pct": 3.0,
            "daily_buffer_pct": 2.7,
            "max_loss_limit_pct": 10.0,
            "total_buffer_pct": 9.0,
            "min_trading_days": 0,
        }
        base.update(kw)
        return cls(initial_balance=initial_balance, **base)  # type: ignore[arg-type]

    @property
    def profit_target_pct(self) -> float:
        if self.phase is Phase.FUNDED:
            return 0.0
        if self.kind is ChallengeKind.ONE_STEP:
            return 10.0
        return 10.0 if self.phase is Phase.CHALLENGE else 5.0

    @property
    def profit_target(self) -> float:
        return self.initial_balance * self.profit_target_pct / 100.0

    def daily_floor(self, day_start_balance: float, *, buffered: bool = True) -> float:
        """Lowest allowed equity today: previous-midnight balance minus pct x initial balance."""
        pct = self.daily_buffer_pct if buffered else self.daily_loss_limit_pct
        return float(daily_floor_at(day_start_balance, pct, self.initial_balance))

    def total_floor(self, max_eod_balance: float | None = None, *, buffered: bool = True) -> float:
        """Lowest allowed equity ever. One-step: trails the highest end-of-day balance, capped at initial."""
        pct = self.total_buffer_pct if buffered else self.max_loss_limit_pct
        trailing = self.kind is ChallengeKind.ONE_STEP and max_eod_balance is not None
        return float(total_floor_at(max_eod_balance or 0.0, pct, self.initial_balance, trailing))


# The floors' and the day roll's arithmetic, compiled (numba) so that FtmoRules / FtmoState above and the
# backtest's compiled kernel (domain.backtest.kernel) run the same code.
@numba.njit(cache=True)
def daily_floor_at(day_start_balance: float, pct: float, initial: float) -> float:
    return day_start_balance - pct / 100.0 * initial


@numba.njit(cache=True)
def total_floor_at(max_eod_balance: float, pct: float, initial: float, trailing: bool) -> float:
    static = initial * (1.0 - pct / 100.0)
    if not trailing:
        return static
    trailed = max_eod_balance - pct / 100.0 * initial
    return max(static, min(trailed, initial))


@numba.njit(cache=True)
def rolled_day(
    day_start: int, day_start_balance: float, max_eod_balance: float, start: int, balance_at_midnight: float
) -> tuple[int, float, float]:
    """The day's start, its start balance and the highest end-of-day balance after the roll to the Prague
    day starting at `start` (unchanged when that day is not later)."""
    if start <= day_start:
        return day_start, day_start_balance, max_eod_balance
    return start, balance_at_midnight, max(max_eod_balance, balance_at_midnight)


@attrs.frozen
class FtmoState:
    """The FTMO ledger: what the rules remember between ticks (replaced, never mutated).

    Advanced by the clock, never by an order check: every runtime cycle and every backtest event calls
    `advance(now_ms, balance)`, which rolls the day at each Prague midnight with the balance AT that
    midnight and books balance changes (closed P&L, commission, swaps) into the day they happened.
    Fields: the current Prague day's start and its balance and equity at that midnight, the highest
    end-of-day balance (one-step trailing floor), the Prague days a position was opened on, the closed
    P&L per day (best-day rule), the last observation (time, balance) and whether the last equity check
    found equity below a buffered floor (the breach episode: one alert per episode).
    The replacing states are built by direct constructor calls (attrs.evolve's per-call introspection
    was a hot spot of the backtest): a new field must be passed on in `_rolled`, `advance` and `_evolved`.
    """

    day_start_ms: int
    day_start_balance: float
    max_eod_balance: float
    trading_days: frozenset[int] = frozenset()
    day_profits: tuple[tuple[int, float], ...] = ()  # (prague day, closed P&L that day)
    day_start_equity: float | None = None
    last_ms: int | None = None
    last_balance: float | None = None
    in_breach: bool = False

    @classmethod
    def start(cls, now_ms: int, balance: float, equity: float | None = None) -> FtmoState:
        return cls(
            day_start_ms=day_start_ms(now_ms),
            day_start_balance=balance,
            max_eod_balance=balance,
            day_start_equity=balance if equity is None else equity,
            last_ms=now_ms,
            last_balance=balance,
        )

    def roll(self, now_ms: int, balance_at_midnight: float, equity_at_midnight: float | None = None) -> FtmoState:
        """Advance to the Prague day containing now_ms; a no-op within the same day.

        `balance_at_midnight` is the balance at the reset (positions are not closed by the reset);
        `advance` derives it from the ledger's own record, callers replaying history pass the exact one.
        """
        return self._rolled(day_start_ms(now_ms), balance_at_midnight, equity_at_midnight)

    def _rolled(self, start: int, balance_at_midnight: float, equity_at_midnight: float | None) -> FtmoState:
        if start <= self.day_start_ms:
            return self
        day, dsb, eod = rolled_day(
            self.day_start_ms, self.day_start_balance, self.max_eod_balance, start, balance_at_midnight
        )
        return FtmoState(
            day_start_ms=day,
            day_start_balance=dsb,
            max_eod_balance=eod,
            trading_days=self.trading_days,
            day_profits=self.day_profits,
            day_start_equity=balance_at_midnight if equity_at_midnight is None else equity_at_midnight,
            last_ms=self.last_ms,
            last_balance=self.last_balance,
            in_breach=self.in_breach,
        )

    def midnight_balance(self, balance: float, midnight_ms: int, change_times: Sequence[int] | None = None) -> float:
        """The balance at the Prague midnight `midnight_ms` when `balance` is seen after it.

        Unchanged since the last observation: exactly that balance. Changed: `change_times` (the broker's
        deal times since the last observation) say on which side of midnight it changed; when they do
        not tell (unknown, or deals on both sides) the HIGHER of the two balances is taken: it gives the
        higher (stricter) daily floor, never one below FTMO's."""
        last = self.last_balance
        if last is None or last == balance:
            return balance
        if change_times:
            if all(t >= midnight_ms for t in change_times):
                return last
            if all(t < midnight_ms for t in change_times):
                return balance
        return max(last, balance)

    def advance(
        self, now_ms: int, balance: float, equity: float | None = None, change_times: Sequence[int] | None = None
    ) -> FtmoState:
        """The ledger at `now_ms` for an account observed at `balance` (and `equity`): rolled at every
        Prague midnight since the last observation with the balance at that midnight, the balance change
        since the last observation (closed P&L, commission, swaps) booked into its day.
        `day_start_equity` is the equity at the first observation of the day."""
        st = self
        changed = self.last_balance is not None and balance != self.last_balance
        change_day = prague_day(now_ms)
        start = prague_midnight_ms(change_day)  # day_start_ms(now_ms)
        if start > self.day_start_ms:
            mid = self.midnight_balance(balance, start, change_times)
            st = st._rolled(start, mid, equity)
            if changed and mid == balance:  # the change came before the reset: the previous day's
                change_day = prague_day(start - 1)
        if changed:
            st = st.with_closed_pnl_on_day(change_day, balance - float(self.last_balance or 0.0))
        return FtmoState(
            day_start_ms=st.day_start_ms,
            day_start_balance=st.day_start_balance,
            max_eod_balance=st.max_eod_balance,
            trading_days=st.trading_days,
            day_profits=st.day_profits,
            day_start_equity=st.day_start_equity,
            last_ms=now_ms,
            last_balance=balance,
            in_breach=st.in_breach,
        )

    def with_trade_opened(self, at_ms: int) -> FtmoState:
        return self._evolved(self.trading_days | {prague_day(at_ms)}, self.day_profits, self.in_breach)

    def with_closed_pnl(self, at_ms: int, pnl: float) -> FtmoState:
        return self.with_closed_pnl_on_day(prague_day(at_ms), pnl)

    def with_closed_pnl_on_day(self, day: int, pnl: float) -> FtmoState:
        dp = self.day_profits
        if not dp or dp[-1][0] < day:  # a new latest day (the usual case): appended, still sorted
            profits = (*dp, (day, 0.0 + pnl))
        elif dp[-1][0] == day:
            profits = (*dp[:-1], (day, dp[-1][1] + pnl))
        else:
            d = dict(dp)
            d[day] = d.get(day, 0.0) + pnl
            profits = tuple(sorted(d.items()))
        return self._evolved(self.trading_days, profits, self.in_breach)

    def with_breach(self, breached: bool) -> FtmoState:
        return self if breached == self.in_breach else self._evolved(self.trading_days, self.day_profits, breached)

    def _evolved(
        self, trading_days: frozenset[int], day_profits: tuple[tuple[int, float], ...], in_breach: bool
    ) -> FtmoState:
        """attrs.evolve for these three fields, without its per-call field introspection."""
        return FtmoState(
            day_start_ms=self.day_start_ms,
            day_start_balance=self.day_start_balance,
            max_eod_balance=self.max_eod_balance,
            trading_days=trading_days,
            day_profits=day_profits,
            day_start_equity=self.day_start_equity,
            last_ms=self.last_ms,
            last_balance=self.last_balance,
            in_breach=in_breach,
        )


FtmoLedger = FtmoState  # the name the docs use


@attrs.frozen
class FtmoCheck:
    """The account against our floors (and FTMO's) at one instant."""

    equity: float
    daily_floor: float
    total_floor: float
    ftmo_daily_floor: float
    ftmo_total_floor: float

    @property
    def floor(self) -> float:
        """The binding (highest) of our two floors."""
        return max(self.daily_floor, self.total_floor)

    @property
    def binding(self) -> str:
        return "daily_loss" if self.daily_floor >= self.total_floor else "max_loss"

    @property
    def daily_headroom(self) -> float:
        return self.equity - self.daily_floor

    @property
    def total_headroom(self) -> float:
        return self.equity - self.total_floor

    @property
    def breached(self) -> bool:
        return self.equity < self.floor

    @property
    def ftmo_breached(self) -> bool:
        return self.equity < max(self.ftmo_daily_floor, self.ftmo_total_floor)


def check(rules: FtmoRules, state: FtmoState, equity: float) -> FtmoCheck:
    return FtmoCheck(
        equity=equity,
        daily_floor=rules.daily_floor(state.day_start_balance),
        total_floor=rules.total_floor(state.max_eod_balance),
        ftmo_daily_floor=rules.daily_floor(state.day_start_balance, buffered=False),
        ftmo_total_floor=rules.total_floor(state.max_eod_balance, buffered=False),
    )


@attrs.frozen
class Progress:
    profit: float
    target: float
    trading_days: int
    min_trading_days: int
    best_day_ok: bool
    passed: bool


def best_day_share(day_profits: tuple[tuple[int, float], ...]) -> float | None:
    """The best day's closed profit as a share of the total profit; None without a total profit."""
    total = sum(p for _, p in day_profits)
    if total <= 0:
        return None
    return max(p for _, p in day_profits) / total


def best_day_ok(day_profits: tuple[tuple[int, float], ...], share: float) -> bool:
    """Best-day rule: the best day's profit is at most `share` of the total profit (if any profit)."""
    total = sum(p for _, p in day_profits)
    if total <= 0:
        return True
    best = max(p for _, p in day_profits)
    return best <= share * total + 1e-9


def progress(rules: FtmoRules, state: FtmoState, balance: float) -> Progress:
    profit = balance - rules.initial_balance
    days = len(state.trading_days)
    bd_ok = rules.kind is ChallengeKind.TWO_STEP or best_day_ok(state.day_profits, rules.best_day_max_share)
    passed = (
        rules.phase is not Phase.FUNDED and profit >= rules.profit_target and days >= rules.min_trading_days and bd_ok
    )
    return Progress(profit, rules.profit_target, days, rules.min_trading_days, bd_ok, passed)
