"""The FTMO guard: may this order be placed, at this size, without risking a floor breach?

Worst case = every open position and the new one stopped out at their SL, and every fill still to
come paying the most its execution costs can be: the new order its whole WORST round trip (top
quantile of spread and slippage, latency penalty, commission on both sides), each open position the
worst cost of leaving at its stop. Sampled fills never exceed that bound (the mean would be exceeded
on about every other trade). Equity in that case must stay >= our binding floor (daily or total).
The answer is allow, reduce (to the largest volume that fits) or block with a reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoCheck
from domain.market import Session
from domain.signals import BlockReason
from domain.sizing import volume_within
from domain.trading import Position, SymbolSpec

FloatArray = npt.NDArray[np.float64]

# What the guard charges for execution when no measured cost model is injected: 10 bps spread and
# 5 bps slippage per side (about 4x and 18x the means measured on Binance BTC/USDT, see
# docs/execution-costs.md) plus FTMO's crypto commission of 3.25 bps per side: 26.5 bps round trip
# (26.5130 with the commission charged on the worsened fills). Fixed costs are their own bound.
DEFAULT_COST_ALLOWANCE = FixedCostModel(spread_bps=10.0, slippage_bps=5.0)
DEFAULT_FEE_BPS = 3.25


class CostEstimator(Protocol):
    """What the guard needs from an execution-cost model (`ExecutionModel`, `FixedCostModel`)."""

    def worst_round_trip_cost_bps(
        self, pair: str, session: Session, latency_ms: float = 0.0, fee_bps: float = 0.0
    ) -> float: ...


def round_trip_cost_bps(model: CostEstimator, pair: str, session: Session, latency_ms: float, fee_bps: float) -> float:
    """The most opening and closing can cost, in bps of notional: the model's worst round trip with
    the commission on both sides. Live desk and batch engine both use this one formula."""
    return model.worst_round_trip_cost_bps(pair, session, latency_ms, fee_bps)


def exit_cost_bps(model: CostEstimator, pair: str, session: Session, latency_ms: float, fee_bps: float) -> float:
    """The most an open position may still cost, in bps of notional: the worst round trip less the
    entry's market cost (already in its fill price), i.e. leaving it plus the commission of BOTH sides,
    since a broker may book the entry commission only at the close (the simulated and paper brokers
    do), so equity need not hold it yet."""
    return model.worst_round_trip_cost_bps(pair, session, latency_ms, fee_bps) - (
        model.worst_round_trip_cost_bps(pair, session, latency_ms, 0.0) / 2
    )


def order_cost_per_lot(entry: float, sl: float, spec: SymbolSpec, cost_bps: float) -> float:
    """Round-trip cost of one lot, charged on the larger of the entry and the stop notional."""
    return float(order_cost_at(float(entry), float(sl), spec.contract_size, float(cost_bps)))


def exit_cost_allowance(
    positions: Sequence[Position], specs: Mapping[str, SymbolSpec], exit_bps: Mapping[str, float]
) -> float:
    """Money the open positions still pay to leave at their stops (`exit_bps` per pair, missing = 0),
    on the larger of the entry fill and the stop notional: the entry commission is due on the entry
    fill, which for a long lies above the stop."""
    return float(exit_allowance_of(position_arrays(positions, specs, None, exit_bps)[0]))


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    REDUCE = "reduce"
    BLOCK = "block"


# guard_volume's answers
G_ALLOW, G_REDUCE, G_NO_STOP, G_NO_ROOM, G_BELOW_LOT = 0, 1, 2, 3, 4


@attrs.frozen
class GuardDecision:
    verdict: Verdict
    volume: float
    worst_case_equity: float
    floor: float
    reason: BlockReason | None = None
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.BLOCK


def worst_case_equity(
    equity: float,
    balance: float,
    positions: Sequence[Position],
    specs: Mapping[str, SymbolSpec],
    marks: Mapping[str, float] | None = None,
) -> float:
    """Equity if every open position hits its SL now.

    With a mark (current price) for every open pair this is exact: equity minus each position's
    fall from its P&L now to its P&L at SL (a position already beyond its SL counts no gain).
    Without marks we cannot split equity into floating P&L and costs, so we take the conservative
    min(equity, balance) plus every position's P&L at SL where negative.
    """
    pos, have_marks = position_arrays(positions, specs, marks, None)
    return float(worst_case_of(float(equity), float(balance), pos, have_marks))


def guard_order(
    chk: FtmoCheck,
    balance: float,
    positions: Sequence[Position],
    specs: Mapping[str, SymbolSpec],
    pair: str,
    entry: float,
    sl: float,
    volume: float,
    *,
    marks: Mapping[str, float] | None = None,
    extra_cost: float = 0.0,
    cost_bps: float = 0.0,
    exit_bps: Mapping[str, float] | None = None,
) -> GuardDecision:
    """Decide on a new order of `volume` lots at `entry` with stop `sl`.

    `cost_bps`: the new order's worst round-trip cost (`round_trip_cost_bps`), charged per lot
    on top of its loss at SL. `exit_bps`: per pair, the most leaving an open position costs
    (`exit_cost_bps`), reserved from the worst case. `extra_cost`: any further money charged once.
    The invariant: for ALLOW/REDUCE, worst_case_equity - open exit costs - extra_cost
    - volume x (loss_per_lot + order_cost_per_lot) >= floor.
    """
    spec = specs[pair]
    floor = chk.floor
    reason = BlockReason.DAILY_LOSS if chk.binding == "daily_loss" else BlockReason.MAX_LOSS
    pos, have_marks = position_arrays(positions, specs, marks, exit_bps)
    verdict, vol, worst, headroom, per_lot = guard_volume(
        float(chk.equity), float(balance), float(floor), pos, have_marks, bool(exit_bps), float(entry), float(sl),
        spec.contract_size, spec.lot_step, spec.min_lot, spec.max_lot, float(volume), float(extra_cost),
        float(cost_bps),
    )  # fmt: skip
    return guard_decision(verdict, vol, worst, headroom, per_lot, floor, reason, volume, spec)


# columns of the open positions' matrix guard_volume reads (position_arrays)
P_SIGN, P_ENTRY, P_SL, P_VOLUME, P_CS, P_MARK, P_EXIT_BPS = range(7)


def position_arrays(
    positions: Sequence[Position],
    specs: Mapping[str, SymbolSpec],
    marks: Mapping[str, float] | None,
    exit_bps: Mapping[str, float] | None,
) -> tuple[FloatArray, bool]:
    """The open positions as `guard_volume` reads them, one row each: sign, entry, stop, volume,
    contract size, mark (NaN without one), exit-cost allowance in bps (0 without one); and whether
    every pair has a mark."""
    have_marks = marks is not None and all(p.pair in marks for p in positions)
    m, e = marks or {}, exit_bps or {}
    rows = [
        (
            p.direction.sign,
            p.entry,
            p.sl,
            p.volume,
            specs[p.pair].contract_size,
            m.get(p.pair, np.nan),
            e.get(p.pair, 0.0),
        )
        for p in positions
    ]
    return np.array(rows, dtype=np.float64).reshape(len(rows), 7), have_marks


def guard_decision(
    verdict: int,
    vol: float,
    worst: float,
    headroom: float,
    per_lot: float,
    floor: float,
    reason: BlockReason,
    volume: float,
    spec: SymbolSpec,
) -> GuardDecision:
    """The `GuardDecision` of `guard_volume`'s answer."""
    if verdict == G_NO_STOP:
        return GuardDecision(Verdict.BLOCK, 0.0, worst, floor, BlockReason.BROKER_ERROR, "zero stop distance")
    if verdict == G_NO_ROOM:
        return GuardDecision(
            Verdict.BLOCK,
            0.0,
            worst,
            floor,
            reason,
            f"worst-case equity {worst:.2f} leaves no room above the {reason.value} floor {floor:.2f}",
        )
    if verdict == G_ALLOW:
        return GuardDecision(Verdict.ALLOW, volume, worst, floor)
    if verdict == G_BELOW_LOT:
        return GuardDecision(
            Verdict.BLOCK,
            0.0,
            worst,
            floor,
            reason,
            f"headroom {headroom:.2f} above the {reason.value} floor {floor:.2f} is below one "
            f"minimum lot's loss with costs {spec.min_lot * per_lot:.2f}",
        )
    return GuardDecision(
        Verdict.REDUCE,
        vol,
        worst,
        floor,
        reason,
        f"reduced {volume} -> {vol} lots to keep worst-case equity above {floor:.2f}",
    )


@numba.njit(cache=True, inline="always")
def worst_case_of(equity: float, balance: float, pos: FloatArray, have_marks: bool) -> float:
    """`worst_case_equity` on `position_arrays` (summed in the positions' order)."""
    n = pos.shape[0]
    if have_marks:  # exact: each position's fall from its P&L now to its P&L at SL
        drop = 0.0
        for q in range(n):
            sign, p_entry, vol, cs = pos[q, P_SIGN], pos[q, P_ENTRY], pos[q, P_VOLUME], pos[q, P_CS]
            now_pnl = sign * (pos[q, P_MARK] - p_entry) * vol * cs
            sl_pnl = sign * (pos[q, P_SL] - p_entry) * vol * cs
            drop += max(0.0, now_pnl - sl_pnl)
        return equity - drop
    at_sl = 0.0  # conservative without marks
    for q in range(n):
        at_sl += min(0.0, pos[q, P_SIGN] * (pos[q, P_SL] - pos[q, P_ENTRY]) * pos[q, P_VOLUME] * pos[q, P_CS])
    return min(equity, balance) + at_sl


@numba.njit(cache=True, inline="always")
def exit_allowance_of(pos: FloatArray) -> float:
    """`exit_cost_allowance` on `position_arrays` (summed in the positions' order)."""
    allowance = 0.0
    for q in range(pos.shape[0]):
        allowance += (
            pos[q, P_EXIT_BPS] / 1e4 * max(abs(pos[q, P_ENTRY]), abs(pos[q, P_SL])) * pos[q, P_VOLUME] * pos[q, P_CS]
        )
    return allowance


@numba.njit(cache=True, inline="always")
def order_cost_at(entry: float, sl: float, contract_size: float, cost_bps: float) -> float:
    """`order_cost_per_lot` on plain numbers."""
    return cost_bps / 1e4 * max(abs(entry), abs(sl)) * contract_size


@numba.njit(cache=True)
def guard_volume(
    equity: float,
    balance: float,
    floor: float,
    pos: FloatArray,
    have_marks: bool,
    use_exit_bps: bool,
    entry: float,
    sl: float,
    contract_size: float,
    lot_step: float,
    min_lot: float,
    max_lot: float,
    volume: float,
    extra_cost: float,
    cost_bps: float,
) -> tuple[int, float, float, float, float]:
    """`guard_order` on plain numbers (compiled; domain.decision's compiled decision guards here):
    (G_* verdict, volume, worst-case equity, headroom, money per lot at the stop with costs).
    `pos`: the open positions (`position_arrays`). Sums run in the positions' order, as
    `worst_case_equity` and `exit_cost_allowance` add them."""
    worst = worst_case_of(equity, balance, pos, have_marks)
    if use_exit_bps:
        worst -= exit_allowance_of(pos)
    headroom = worst - floor - extra_cost
    stop_loss = abs(entry - sl) * contract_size
    per_lot = stop_loss + order_cost_at(entry, sl, contract_size, cost_bps) if cost_bps else stop_loss
    if stop_loss <= 0:
        return G_NO_STOP, 0.0, worst, headroom, per_lot
    if headroom <= 0:
        return G_NO_ROOM, 0.0, worst, headroom, per_lot
    if volume * per_lot <= headroom:
        return G_ALLOW, volume, worst, headroom, per_lot
    reduced = min(volume_within(headroom, per_lot, lot_step, min_lot, max_lot), volume)
    if reduced <= 0:
        return G_BELOW_LOT, 0.0, worst, headroom, per_lot
    return G_REDUCE, reduced, worst, headroom, per_lot
