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

from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoCheck
from domain.market import Session
from domain.signals import BlockReason
from domain.sizing import loss_per_lot
from domain.trading import Position, SymbolSpec

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
    return cost_bps / 1e4 * max(abs(entry), abs(sl)) * spec.contract_size


def exit_cost_allowance(
    positions: Sequence[Position], specs: Mapping[str, SymbolSpec], exit_bps: Mapping[str, float]
) -> float:
    """Money the open positions still pay to leave at their stops (`exit_bps` per pair, missing = 0),
    on the larger of the entry fill and the stop notional: the entry commission is due on the entry
    fill, which for a long lies above the stop."""
    return sum(
        exit_bps.get(p.pair, 0.0) / 1e4 * max(abs(p.entry), abs(p.sl)) * p.volume * specs[p.pair].contract_size
        for p in positions
    )


def _volume_within(budget: float, per_lot: float, spec: SymbolSpec) -> float:
    """Largest volume (lot steps, >= min_lot) with volume x per_lot <= budget; 0.0 if none."""
    if per_lot <= 0 or budget <= 0:
        return 0.0
    vol = spec.floor_volume(budget / per_lot)
    while vol > 0 and vol * per_lot > budget:  # floor_volume tolerates float noise upward
        vol = spec.floor_volume(vol - spec.lot_step)
    return vol


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    REDUCE = "reduce"
    BLOCK = "block"


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
    if marks is not None and all(p.pair in marks for p in positions):
        drop = 0.0
        for p in positions:
            cs = specs[p.pair].contract_size
            drop += max(0.0, p.pnl_at(marks[p.pair], cs) - p.pnl_at(p.sl, cs))
        return equity - drop
    at_sl = sum(min(0.0, p.pnl_at(p.sl, specs[p.pair].contract_size)) for p in positions)
    return min(equity, balance) + at_sl


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
    worst = worst_case_equity(chk.equity, balance, positions, specs, marks)
    if exit_bps:
        worst -= exit_cost_allowance(positions, specs, exit_bps)
    headroom = worst - floor - extra_cost
    stop_loss = loss_per_lot(entry, sl, spec)
    per_lot = stop_loss + order_cost_per_lot(entry, sl, spec, cost_bps) if cost_bps else stop_loss
    if stop_loss <= 0:
        return GuardDecision(Verdict.BLOCK, 0.0, worst, floor, BlockReason.BROKER_ERROR, "zero stop distance")
    if headroom <= 0:
        return GuardDecision(
            Verdict.BLOCK,
            0.0,
            worst,
            floor,
            reason,
            f"worst-case equity {worst:.2f} leaves no room above the {reason.value} floor {floor:.2f}",
        )
    if volume * per_lot <= headroom:
        return GuardDecision(Verdict.ALLOW, volume, worst, floor)
    reduced = min(_volume_within(headroom, per_lot, spec), volume)
    if reduced <= 0:
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
        reduced,
        worst,
        floor,
        reason,
        f"reduced {volume} -> {reduced} lots to keep worst-case equity above {floor:.2f}",
    )
