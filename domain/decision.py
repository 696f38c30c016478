"""The decision on one proposed trade, written once: runtime policy -> FTMO check and breach halt ->
position limits -> sizing (risk budget capped by the free margin) -> FTMO guard -> volume or block.

The step order is `decide_core`, compiled with numba: the backtest's compiled kernel
(domain.backtest.kernel) calls it for every candidate with the whole book at hand, and the live desk
(services.execution.pre_trade) reaches it through `decide_trade`, which reads its `TradeBook` step by
step: `decide_core` answers with the next input it needs (NEED_*) until it decides, so a kill switch
or a halt blocks before the account is read (or the FTMO ledger refreshed), a position limit before
any sizing input, and the order of the steps exists only in `decide_core`. Each step's arithmetic is
the compiled core of its module (domain.policy.gate, domain.sizing.sized_volume,
domain.guard.guard_volume), which the Python functions of those modules wrap too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain import policy as pol
from domain.ftmo import FtmoCheck
from domain.guard import (
    G_ALLOW,
    G_NO_STOP,
    G_REDUCE,
    GuardDecision,
    Verdict,
    guard_decision,
    guard_volume,
    position_arrays,
)
from domain.prague_time import next_day_start_ms
from domain.settings import PositionLimits
from domain.signals import BLOCK_CODES, REASON_OF_CODE, BlockReason, Tier
from domain.sizing import margin_capped, margin_price_at, sized_volume, sizing_of
from domain.trading import Position, SymbolSpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# In the reason of a halt latched by an actual floor crossing (and in the text of its alert), as
# opposed to a blocked attempt; the runtime's alert throttle tells the two apart by it.
FLOOR_BREACH_MARK = " floor breached:"

# What decide_core needs next (the inputs handed over so far: `have`)
NEED_NOTHING, NEED_FTMO, NEED_POSITIONS, NEED_ACCOUNT, NEED_GUARD = 0, 1, 2, 3, 4
_HALTED = BLOCK_CODES[BlockReason.HALTED]
_KILL_SWITCH = BLOCK_CODES[BlockReason.KILL_SWITCH]
_MAX_OPEN = BLOCK_CODES[BlockReason.MAX_OPEN_POSITIONS]
_MAX_PER_PAIR = BLOCK_CODES[BlockReason.MAX_POSITIONS_PER_PAIR]
_INSUFFICIENT_MARGIN = BLOCK_CODES[BlockReason.INSUFFICIENT_MARGIN]
_DAILY_LOSS = BLOCK_CODES[BlockReason.DAILY_LOSS]
_MAX_LOSS = BLOCK_CODES[BlockReason.MAX_LOSS]
_BROKER_ERROR = BLOCK_CODES[BlockReason.BROKER_ERROR]


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


# decide_core's inputs beyond the policy's, by the step that reads them (see decide_core)
FtmoInputs = tuple[float, float, bool]  # equity at the refresh, the binding buffered floor, the daily one binds
LimitInputs = tuple[int, int, int, int]  # open positions, of them this pair's, MAX_OPEN_POSITIONS, ..._PER_PAIR
# the new order's symbol (contract size, min lot, lot step, max lot, margin rate), the account (equity,
# free margin), its worst round trip in bps, risk %, entry, stop, an operator's volume (NaN: size it)
OrderInputs = tuple[float, float, float, float, float, float, float, float, float, float, float, float]
# the balance, the open positions (domain.guard.position_arrays) and whether every pair has a mark, and
# whether the open positions' exit costs apply
GuardInputs = tuple[float, FloatArray, bool, bool]


@numba.njit(cache=True, inline="always")
def decide_core(
    g: pol.GateState,
    emitted: IntArray,
    tier_limits: IntArray,
    enforce_rate_limits: bool,
    have: int,  # the inputs handed over so far (NEED_*: 0 none, up to NEED_GUARD all)
    ftmo: FtmoInputs,
    limits: LimitInputs,
    order: OrderInputs,
    guard: GuardInputs,
) -> tuple[int, int, float, bool, float, int, int, float, float, float, float, float]:
    """The one step order on plain numbers. Returns (block code or 0, NEED_* or 0, volume, latched,
    risk multiplier, the count a policy or position limit saw, the guard's G_* verdict (-1 before it),
    worst-case equity, headroom, money per lot, the volume sized for the guard (the risk budget's when
    sizing blocks), the margin price).

    1. Policy (domain.policy.gate): kill switch, halt, rate limits (skipped unless
       `enforce_rate_limits`; kill switch and halt always apply); the loss backoff's risk multiplier.
    2. The FTMO check; equity below the buffered floor latches a halt until the next Prague day
       (`latch_on_breach`; the caller builds the halted state); halted -> block.
    3. Position limits: MAX_OPEN_POSITIONS, then MAX_POSITIONS_PER_PAIR.
    4. Sizing: the risk budget capped by the free margin (domain.sizing.sized_volume), or an explicit
       volume capped by the free margin.
    5. The FTMO guard (domain.guard.guard_volume), which may only reduce the volume."""
    code, mult, count = pol.gate(g, emitted, tier_limits)
    if code != 0 and (enforce_rate_limits or code in (_KILL_SWITCH, _HALTED)):
        return code, 0, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    if have < NEED_FTMO:
        return 0, NEED_FTMO, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    halted_until, now_ms = g[1], g[2]
    chk_equity, floor, daily_binds = ftmo
    halted = halted_until != pol.NO_TIME and now_ms < halted_until
    latched = chk_equity < floor and not halted
    if latched or halted:
        return _HALTED, 0, 0.0, latched, mult, count, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    if have < NEED_POSITIONS:
        return 0, NEED_POSITIONS, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    n_open, n_same_pair, max_open, max_per_pair = limits
    if n_open >= max_open:
        return _MAX_OPEN, 0, 0.0, False, mult, n_open, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    if n_same_pair >= max_per_pair:
        return _MAX_PER_PAIR, 0, 0.0, False, mult, n_same_pair, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    if have < NEED_ACCOUNT:
        return 0, NEED_ACCOUNT, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, 0.0, 0.0
    (contract_size, min_lot, lot_step, max_lot, margin_rate, equity, free_margin, cost_bps, risk_pct, entry, sl,
     explicit_volume) = order  # fmt: skip
    if np.isnan(explicit_volume):
        size_code, volume, risk_vol, price = sized_volume(
            equity, risk_pct, entry, sl, contract_size, min_lot, lot_step, max_lot, margin_rate, free_margin,
            cost_bps, mult,
        )  # fmt: skip
        if size_code != 0:
            return size_code, 0, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, risk_vol, price
    else:  # an operator's explicit volume must fit the free margin too
        price = margin_price_at(entry, cost_bps)
        risk_vol = explicit_volume
        volume = margin_capped(
            explicit_volume, free_margin, price, contract_size, margin_rate, lot_step, min_lot, max_lot
        )
        if volume <= 0:
            return _INSUFFICIENT_MARGIN, 0, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, risk_vol, price
    if have < NEED_GUARD:
        return 0, NEED_GUARD, 0.0, False, mult, count, -1, 0.0, 0.0, 0.0, risk_vol, price
    balance, pos, have_marks, use_exit_bps = guard
    verdict, vol, worst, headroom, per_lot = guard_volume(
        chk_equity, balance, floor, pos, have_marks, use_exit_bps, entry, sl, contract_size, lot_step, min_lot,
        max_lot, volume, 0.0, cost_bps,
    )  # fmt: skip
    if verdict in (G_ALLOW, G_REDUCE):
        return 0, 0, vol, False, mult, count, verdict, worst, headroom, per_lot, volume, price
    guard_code = _BROKER_ERROR if verdict == G_NO_STOP else _DAILY_LOSS if daily_binds else _MAX_LOSS
    return guard_code, 0, 0.0, False, mult, count, verdict, worst, headroom, per_lot, volume, price


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
    """Decide one proposed `pair` trade at `entry` with stop `sl`: `decide_core`, reading `book` only as
    far as the steps get (see `decide_core` for the order; an explicit `volume` is an operator's)."""
    g = pol.gate_state(policy_cfg, policy_state, now_ms, tier)
    emitted, tier_limits = pol.emitted_rows(policy_state), policy_cfg.tier_limits()
    chk: FtmoCheck | None = None
    positions: Sequence[Position] = ()
    spec: SymbolSpec | None = None
    explicit = np.nan if volume is None else float(volume)
    acct: tuple[float, float, float, float, float, float, float, float] = (1.0, 0.01, 0.01, 1.0, 1.0, 0.0, 0.0, 0.0)
    guard_in: GuardInputs = _NO_POSITIONS
    have = NEED_NOTHING
    while True:
        r = decide_core(
            g, emitted, tier_limits, enforce_rate_limits, have,
            (0.0, 0.0, False) if chk is None else (float(chk.equity), float(chk.floor), chk.binding == "daily_loss"),
            (len(positions), sum(1 for p in positions if p.pair == pair), limits.max_open, limits.max_per_pair),
            (*acct, float(risk_pct), float(entry), float(sl), explicit),
            guard_in,
        )  # fmt: skip
        need = r[1]
        if need == NEED_NOTHING:
            break
        have = need
        if need == NEED_FTMO:
            chk = book.ftmo
        elif need == NEED_POSITIONS:
            positions = book.positions
        elif need == NEED_ACCOUNT:
            spec = book.spec
            equity, free_margin = book.equity, book.free_margin
            cost_bps = book.cost_bps
            acct = (
                float(spec.contract_size), float(spec.min_lot), float(spec.lot_step), float(spec.max_lot),
                float(spec.margin_rate), float(equity), float(free_margin), float(cost_bps),
            )  # fmt: skip
        else:
            specs, marks, exit_bps = book.specs, book.marks, book.exit_bps
            pos, have_marks = position_arrays(positions, specs, marks, exit_bps)
            guard_in = (float(book.balance), pos, have_marks, bool(exit_bps))
    return _decision_of(r, policy_cfg, policy_state, tier, now_ms, chk, spec, pair, limits, volume, acct)


_NO_POSITIONS: GuardInputs = (0.0, np.zeros((0, 7), dtype=np.float64), True, False)


def _decision_of(
    r: tuple[int, int, float, bool, float, int, int, float, float, float, float, float],
    policy_cfg: pol.PolicyConfig,
    policy_state: pol.PolicyState,
    tier: Tier,
    now_ms: int,
    chk: FtmoCheck | None,
    spec: SymbolSpec | None,
    pair: str,
    limits: PositionLimits,
    volume: float | None,
    acct: tuple[float, ...],
) -> TradeDecision:
    """The `TradeDecision` of `decide_core`'s answer, with its details for a person."""
    code, _need, vol, latched, mult, count, verdict, worst, headroom, per_lot, risk_vol, price = r
    if chk is None:  # the policy blocked
        dec = pol.decision_of(code, mult, count, policy_cfg, policy_state, tier)
        return TradeDecision(0.0, dec.reason or BlockReason.HALTED, dec.detail, policy_state, alert=dec.alert)
    state = latch_on_breach(policy_state, chk, now_ms)

    def blocked(reason: BlockReason, detail: str) -> TradeDecision:
        return TradeDecision(0.0, reason, detail, state, chk, latched=latched)

    if spec is None:
        if code == _HALTED:
            return blocked(BlockReason.HALTED, state.halted_reason)
        if code == _MAX_OPEN:
            return blocked(
                BlockReason.MAX_OPEN_POSITIONS, f"{count} positions open, MAX_OPEN_POSITIONS={limits.max_open}"
            )
        return blocked(
            BlockReason.MAX_POSITIONS_PER_PAIR,
            f"{count} {pair} position(s) open, MAX_POSITIONS_PER_PAIR={limits.max_per_pair}",
        )
    if verdict < 0:  # sizing blocked
        free_margin = acct[6]
        if volume is None:
            sized = sizing_of(code, 0.0, risk_vol, price, free_margin, spec)
            return blocked(sized.block or REASON_OF_CODE[code], sized.detail)
        return blocked(
            BlockReason.INSUFFICIENT_MARGIN, f"free margin {free_margin:.2f} is below one minimum lot's margin"
        )
    floor = chk.floor
    reason = BlockReason.DAILY_LOSS if chk.binding == "daily_loss" else BlockReason.MAX_LOSS
    g = guard_decision(verdict, vol, worst, headroom, per_lot, floor, reason, risk_vol, spec)
    if g.verdict is Verdict.BLOCK:
        return TradeDecision(0.0, g.reason or BlockReason.DAILY_LOSS, g.detail, state, chk, g, mult, latched=latched)
    return TradeDecision(g.volume, None, "", state, chk, g, mult, latched=latched)
