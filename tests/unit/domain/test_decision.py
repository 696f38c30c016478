"""domain.decision.decide_trade: the one step order, and each book value read only once its step comes."""

from __future__ import annotations

from typing import Any

import attrs

from domain import policy as pol
from domain.decision import FLOOR_BREACH_MARK, Book, decide_trade
from domain.ftmo import FtmoRules, FtmoState, check
from domain.guard import Verdict
from domain.prague_time import next_day_start_ms
from domain.settings import PositionLimits
from domain.signals import BlockReason, Direction, Tier
from domain.trading import Position, SymbolSpec

NOW = 1_760_000_000_000
BTC = SymbolSpec("BTC/USDT", "BTCUSD")
RULES = FtmoRules(initial_balance=100_000)
CFG = pol.PolicyConfig()


class Spy:
    """A TradeBook over `book` that records what is read and fails on a read not in `allowed`."""

    def __init__(self, book: Book, allowed: frozenset[str] | None = None) -> None:
        self._book, self._allowed, self.reads = book, allowed, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> Any:
        if self._allowed is not None and name not in self._allowed:
            raise AssertionError(f"read {name} before its step")
        self.reads.append(name)
        return getattr(self._book, name)


def _book(equity: float = 100_000.0, positions: tuple[Position, ...] = ()) -> Book:
    led = FtmoState.start(NOW, 100_000.0)
    return Book(
        ftmo=check(RULES, led, equity),
        positions=positions,
        spec=BTC,
        equity=equity,
        free_margin=equity,
        balance=100_000.0,
        cost_bps=0.0,
        specs={"BTC/USDT": BTC},
        marks={p.pair: p.entry for p in positions},
        exit_bps={},
    )


def _decide(book: Any, state: pol.PolicyState | None = None, **kw: Any) -> Any:
    kw.setdefault("limits", PositionLimits.unlimited())
    return decide_trade(
        CFG, state or pol.PolicyState(), Tier.HIGH, NOW, book, pair="BTC/USDT", entry=60_000.0, sl=59_000.0,
        risk_pct=0.5, **kw,
    )  # fmt: skip


def test_an_allowed_trade_is_sized_then_guarded() -> None:
    spy = Spy(_book())
    d = _decide(spy)
    # 0.5 % of 100,000 over a 1,000 stop on 1-unit contracts: 0.5 lots, well inside the floors
    assert d.block is None and d.volume == 0.5 and d.guard is not None and d.guard.verdict is Verdict.ALLOW
    assert spy.reads[:2] == ["ftmo", "positions"] and not d.latched and not d.reduced


def test_the_kill_switch_blocks_before_the_book_is_read() -> None:
    d = _decide(Spy(_book(), frozenset()), pol.set_kill_switch(pol.PolicyState(), True))
    assert d.block is BlockReason.KILL_SWITCH and d.alert and d.ftmo is None


def test_a_breach_latches_the_halt_until_the_next_prague_day_before_any_position_is_read() -> None:
    d = _decide(Spy(_book(equity=90_000.0), frozenset({"ftmo"})))
    assert d.block is BlockReason.HALTED and d.latched and d.ftmo is not None and d.ftmo.breached
    assert d.policy.halted_until_ms == next_day_start_ms(NOW) and FLOOR_BREACH_MARK in d.detail
    # an already halted desk is not latched again
    again = _decide(Spy(_book(equity=90_000.0), frozenset({"ftmo"})), d.policy)
    assert again.block is BlockReason.HALTED and not again.latched and again.policy is d.policy


def test_a_position_limit_blocks_before_sizing_reads_the_account() -> None:
    open_btc = Position("p1", "BTC/USDT", Direction.LONG, 0.1, 60_000.0, 59_000.0, None, NOW - 1, "p1")
    d = _decide(Spy(_book(positions=(open_btc,)), frozenset({"ftmo", "positions"})), limits=PositionLimits(3, 1))
    assert d.block is BlockReason.MAX_POSITIONS_PER_PAIR and "MAX_POSITIONS_PER_PAIR=1" in d.detail


def test_without_rate_limits_a_rate_limited_trade_goes_on_but_a_halt_does_not() -> None:
    busy = attrs.evolve(pol.PolicyState(), emitted=tuple((NOW - i, Tier.HIGH) for i in range(10)))
    assert _decide(_book(), busy).block is BlockReason.RATE_LIMIT
    assert _decide(_book(), busy, enforce_rate_limits=False).volume == 0.5
    halted = pol.latch_halt(pol.PolicyState(), "test", NOW + 1)
    assert _decide(_book(), halted, enforce_rate_limits=False).block is BlockReason.HALTED
