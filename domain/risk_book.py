"""Risk book records (one row per signal/trade) and pattern statistics."""

from __future__ import annotations

from typing import Literal

import attrs

from domain.signals import Mode, Tier

Result = Literal["W", "L"]


@attrs.frozen
class TradeRecord:
    """One signal's life in the risk book. `result` None means still open."""

    signal_id: str
    pair: str
    tier: Tier
    entry_time_ms: int
    entry_price: float
    tp_price: float
    sl_price: float
    rr_expected: float
    result: Result | None = None
    exit_time_ms: int | None = None
    exit_price: float | None = None
    r_realized: float | None = None
    time_to_tp_sl_seconds: float | None = None
    slippage_bps: float | None = None
    slippage_expected_bps: float | None = None
    spread_bps: float | None = None
    latency_ms: float | None = None
    mode: Mode = Mode.DRYRUN
    model_version: str = ""
    session: str = ""

    @property
    def is_open(self) -> bool:
        return self.result is None

    @property
    def direction_sign(self) -> int:
        return 1 if self.tp_price > self.entry_price else -1

    def close(self, exit_time_ms: int, exit_price: float) -> TradeRecord:
        """The record closed at exit_price: R realised against the planned stop distance."""
        risk = abs(self.entry_price - self.sl_price)
        r = self.direction_sign * (exit_price - self.entry_price) / risk if risk > 0 else 0.0
        return attrs.evolve(
            self,
            result="W" if r > 0 else "L",
            exit_time_ms=int(exit_time_ms),
            exit_price=float(exit_price),
            r_realized=float(r),
            time_to_tp_sl_seconds=(exit_time_ms - self.entry_time_ms) / 1000.0,
        )


@attrs.frozen
class PatternStat:
    """Historical outcome counts of one pattern (identified by a stable hash)."""

    name: str
    pattern_hash: str
    wins: int = 0
    total: int = 0

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.wins <= self.total:
            raise ValueError(f"pattern {self.name}: need 0 <= wins <= total, got {self.wins}/{self.total}")

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.total if self.total else None

    def record(self, won: bool) -> PatternStat:
        return attrs.evolve(self, wins=self.wins + int(won), total=self.total + 1)
