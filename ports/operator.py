"""OperatorCommands: the driving port Telegram and the CLI call (check, stats, ftmo_status, ...)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from domain.signals import Block, Direction, Signal, Tier


@attrs.frozen
class CheckReport:
    """System status for /check."""

    mode: str
    now_ms: int
    kill_switch: bool
    halted: bool
    halt_reason: str
    broker_ok: bool
    open_positions: int
    thresholds: tuple[tuple[str, float], ...]
    last_scan_ms: int | None = None
    detail: str = ""


@attrs.frozen
class StatsRow:
    """Win rate and R for one group (a tier, session, pair or model version)."""

    group: str
    key: str
    trades: int
    wins: int
    win_rate: float | None
    avg_r: float | None
    total_r: float


@attrs.frozen
class StatsReport:
    """Performance over the last `days` days (closed trades only)."""

    days: int
    mode: str
    trades: int
    wins: int
    win_rate: float | None
    total_r: float
    rows: tuple[StatsRow, ...] = ()
    trading_days: int | None = None  # FTMO trading days so far (None before the first cycle)
    min_trading_days: int | None = None
    best_day_ok: bool | None = None


@attrs.frozen
class FtmoStatusReport:
    """Account against the FTMO floors for /ftmo_status (money in account currency)."""

    balance: float
    equity: float
    initial_balance: float
    day_start_balance: float
    daily_floor: float
    total_floor: float
    daily_headroom: float
    total_headroom: float
    profit: float
    profit_target: float
    trading_days: int
    min_trading_days: int
    halted: bool
    halt_reason: str = ""
    best_day_ok: bool = True  # the one-step best-day rule on the ledger's daily closed P&L
    best_day_share: float | None = None  # best day's profit / total profit (None without profit)
    best_day_applies: bool = False  # one-step only


RECENT_DAYS = 30  # how far back recent_signals / recent_blocks look


@attrs.frozen
class PositionReport:
    """One open position for /status and the dashboard; `price` and `pnl` are None without a quote."""

    position_id: str
    pair: str
    direction: str
    volume: float
    entry: float
    sl: float
    tp: float | None
    opened_at_ms: int
    price: float | None = None
    pnl: float | None = None  # floating P&L in account currency at `price`


@attrs.frozen
class DailyRow:
    """Closed trades of one Prague trading day (FTMO's day), for /daily."""

    day: str  # YYYY-MM-DD
    trades: int
    wins: int
    total_r: float


@attrs.frozen
class RetrainRequest:
    request_id: str
    requested_at_ms: int
    reason: str


@runtime_checkable
class OperatorCommands(Protocol):
    """What an operator can ask of the running system.

    Contract:
    - Read commands (`check`, `stats`, `ftmo_status`) have no side effects.
    - `set_threshold(tier, value)` changes one tier's confidence threshold (value in [0, 1]);
      a value breaking low <= medium <= high raises `domain.errors.ConfigError` and changes nothing.
      Returns the new thresholds as ((tier name, value), ...).
    - `kill_switch(on)` sets the switch and returns its new state; idempotent. While on, nothing
      is emitted or executed.
    - `request_retrain(reason)` records a retrain request and returns it (training runs elsewhere).
    - `force_signal(pair, direction)` runs the full policy and guard for that pair now, bypassing
      only the confidence tiering; returns the Signal or the Block that stopped it.
    - `positions()` lists the broker's open positions with their floating P&L at the current quote.
    - `daily(days)` returns one row per Prague day of the last `days` days, newest first (days
      without a closed trade included, with zeros).
    - `recent_signals(n)` / `recent_blocks(n)`: the last n signals / blocks of this mode within the last
      RECENT_DAYS days, newest first.
    The four are reads: no side effects.
    """

    def check(self) -> CheckReport: ...

    def stats(self, days: int = 7) -> StatsReport: ...

    def ftmo_status(self) -> FtmoStatusReport: ...

    def set_threshold(self, tier: Tier, value: float) -> tuple[tuple[str, float], ...]: ...

    def kill_switch(self, on: bool) -> bool: ...

    def request_retrain(self, reason: str = "") -> RetrainRequest: ...

    def force_signal(self, pair: str, direction: Direction | None = None) -> Signal | Block: ...

    def positions(self) -> tuple[PositionReport, ...]: ...

    def daily(self, days: int = 7) -> tuple[DailyRow, ...]: ...

    def recent_signals(self, n: int = 5) -> tuple[Signal, ...]: ...

    def recent_blocks(self, n: int = 10) -> tuple[Block, ...]: ...
