"""The decision on one proposed trade, written once: runtime policy -> FTMO check and breach halt ->
position limits -> sizing (risk budget capped by the free margin) -> FTMO guard -> volume or block.

The live desk (services.execution.pre_trade) and the backtest engine's scalar path
(domain.backtest.engine._Kernel.scalar) both decide here, so the step order exists in one function.
What differs between them is only where the numbers come from: the live desk reads its broker, the
engine its own simulated book. Both hand them over as a `TradeBook`, which `decide_trade` reads step
by step, only once the steps before have let the trade through: a kill switch or a halt blocks
before the account is read (or the FTMO ledger refreshed), a position limit before any sizing input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from domain import policy as pol
from domain.ftmo import FtmoCheck
from domain.guard import GuardDecision, Verdict, guard_order
from domain.prague_time import next_day_start_ms
from domain.settings import PositionLimits
from domain.signals import BlockReason, Tier
from domain.sizing import cap_to_margin, margin_price, size_order
from domain.trading import Position, SymbolSpec

# In the reason of a halt latched by an actual floor crossing (and in the text of its alert), as
# opposed to a blocked attempt; the runtime's alert throttle tells the two apart by it.
FLOOR_BREACH_MARK = " floor breached:"


def breach_reason(chk: FtmoCheck) -> str:
    """Why a floor breach halts the desk: the binding floor, the equity and the floor."""
    return f"{chk.binding}{FLOOR_BREACH_MARK} equity {chk.equity:.2f} < {chk.floor:.2f}"


def latch_on_breach(state: pol.PolicyState, chk: FtmoCheck, now_ms: int) -> pol.PolicyState:
    """Equity below a buffered floor latches a halt until the next Prague day (again each day the
    breach lasts); `state` itself when there is no breach or the desk is already halted."""
    if chk.breached and not state.is_halted(now_ms):
        return pol.latch_halt(state, breach_reason(chk), next_day_start_ms(now_ms))
    return state


class TradeBook(Protocol):
    """The account and market a decision reads, each read at most once and only when its step comes.

    `ftmo`: the FTMO ledger advanced to now and checked against the equity (the live desk's refresh
    stores the advanced ledger when it is read). `positions`: the open positions in opening order.
    `spec`: the new order's pair. `equity`, `free_margin`, `balance`: the account. `cost_bps`: the new
    order's worst round trip (domain.guard.round_trip_cost_bps). `specs`: every open position's pair
    and the new one. `marks`: per open pair, the price it would close at. `exit_bps`: per open pair,
    the most leaving costs (domain.guard.exit_cost_bps)."""

    @property
    def ftmo(self) -> FtmoCheck: ...
    @property
    def positions(self) -> Sequence[Position]: ...
    @property
    def spec(self) -> SymbolSpec: ...
    @property
    def equity(self) -> float: ...
    @property
    def free_margin(self) -> float: ...
    @property
    def balance(self) -> float: ...
    @property
    def cost_bps(self) -> float: ...
    @property
    def specs(self) -> Mapping[str, SymbolSpec]: ...
    @property
    def marks(self) -> Mapping[str, float]: ...
    @property
    def exit_bps(self) -> Mapping[str, float]: ...


@attrs.frozen
class Book:
    """A `TradeBook` of plain values (the backtest engine computes them all up front)."""

    ftmo: FtmoCheck
    positions: Sequence[Position]
    spec: SymbolSpec
    equity: float
    free_margin: float
    balance: float
    cost_bps: float
    specs: Mapping[str, SymbolSpec]
    marks: Mapping[str, float]
    exit_bps: Mapping[str, float]


@attrs.frozen
class TradeDecision:
    """The outcome: `volume` to order (0.0 when blocked) or `block` with its `detail`.

    `policy`: the policy state after the decision (a halt latched by the FTMO check, `latched`).
    `ftmo`: the FTMO check the decision consulted, None when the policy blocked before it (no
    refresh). `guard`: the guard's verdict, None when an earlier step blocked. `risk_multiplier`: the
    loss backoff's. `alert`: the policy asks for the attempt itself to be reported (kill switch)."""

    volume: float
    block: BlockReason | None
    detail: str
    policy: pol.PolicyState
    ftmo: FtmoCheck | None = None
    guard: GuardDecision | None = None
    risk_multiplier: float = 1.0
    alert: bool = False
    latched: bool = False

    @property
    def reduced(self) -> bool:
        """The guard reduced the sized volume to fit."""
        return self.guard is not None and self.guard.verdict is Verdict.REDUCE


def decide_trade(
    policy_cfg: pol.PolicyConfig,
    policy_state: pol.PolicyState,
    tier: Tier,
    now_ms: int,
    book: TradeBook,
    *,
    pair: str,
    entry: float,
    sl: float,
    risk_pct: float,
    limits: PositionLimits,
    volume: float | None = None,
    enforce_rate_limits: bool = True,
) -> TradeDecision:
    """Decide one proposed `pair` trade at `entry` with stop `sl`, in the one step order.

    1. Policy (domain.policy.check): kill switch, halt, rate limits (skipped unless
       `enforce_rate_limits`; kill switch and halt always apply); the loss backoff's risk multiplier.
    2. The FTMO check (`book.ftmo`); a breach latches a halt until the next Prague day
       (`latch_on_breach`); halted -> block.
    3. Position limits: MAX_OPEN_POSITIONS, then MAX_POSITIONS_PER_PAIR.
    4. Sizing: the risk budget capped by the free margin (domain.sizing.size_order), or an explicit
       `volume` (an operator's) capped by the free margin.
    5. The FTMO guard (domain.guard.guard_order), which may only reduce the volume."""
    dec = pol.check(policy_cfg, policy_state, tier, now_ms)
    if not dec.allowed and (enforce_rate_limits or dec.reason in (BlockReason.KILL_SWITCH, BlockReason.HALTED)):
        return TradeDecision(0.0, dec.reason or BlockReason.HALTED, dec.detail, policy_state, alert=dec.alert)
    mult = dec.risk_multiplier
    chk = book.ftmo
    state = latch_on_breach(policy_state, chk, now_ms)
    latched = state is not policy_state

    def blocked(reason: BlockReason, detail: str) -> TradeDecision:
        return TradeDecision(0.0, reason, detail, state, chk, latched=latched)

    if state.is_halted(now_ms):
        return blocked(BlockReason.HALTED, state.halted_reason)
    positions = book.positions
    if len(positions) >= limits.max_open:
        return blocked(
            BlockReason.MAX_OPEN_POSITIONS, f"{len(positions)} positions open, MAX_OPEN_POSITIONS={limits.max_open}"
        )
    same = sum(1 for p in positions if p.pair == pair)
    if same >= limits.max_per_pair:
        return blocked(
            BlockReason.MAX_POSITIONS_PER_PAIR,
            f"{same} {pair} position(s) open, MAX_POSITIONS_PER_PAIR={limits.max_per_pair}",
        )
    spec = book.spec
    equity, free_margin = book.equity, book.free_margin
    cost_bps = book.cost_bps
    if volume is None:
        sized = size_order(
            equity, risk_pct, entry, sl, spec, free_margin=free_margin, cost_bps=cost_bps, risk_multiplier=mult
        )
        if sized.block is not None:
            return blocked(sized.block, sized.detail)
        volume = sized.volume
    else:  # an operator's explicit volume must fit the free margin too
        volume = cap_to_margin(volume, free_margin, margin_price(entry, cost_bps), spec)
        if volume <= 0:
            return blocked(
                BlockReason.INSUFFICIENT_MARGIN, f"free margin {free_margin:.2f} is below one minimum lot's margin"
            )
    specs, marks, exit_bps = book.specs, book.marks, book.exit_bps
    g = guard_order(
        chk, book.balance, positions, specs, pair, entry, sl, volume, marks=marks, cost_bps=cost_bps, exit_bps=exit_bps
    )
    if g.verdict is Verdict.BLOCK:
        reason = g.reason or BlockReason.DAILY_LOSS
        return TradeDecision(0.0, reason, g.detail, state, chk, g, mult, latched=latched)
    return TradeDecision(g.volume, None, "", state, chk, g, mult, latched=latched)
