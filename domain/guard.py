"""The FTMO guard: may this order be placed, at this size, without risking a floor breach?

Worst case = every open position and the new one stopped out at their SL. Equity in that case
must stay >= our binding floor (daily or total). The answer is allow, reduce (to the largest
volume that fits) or block with a reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

import attrs

from domain.ftmo import FtmoCheck
from domain.signals import BlockReason
from domain.sizing import loss_per_lot, volume_for_budget
from domain.trading import Position, SymbolSpec


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
) -> GuardDecision:
    """Decide on a new order of `volume` lots at `entry` with stop `sl`.

    `extra_cost` is money charged on top of the stop loss (commission, expected slippage/spread).
    The invariant: for ALLOW/REDUCE, worst_case_equity - volume*loss_per_lot - extra_cost >= floor.
    """
    spec = specs[pair]
    floor = chk.floor
    reason = BlockReason.DAILY_LOSS if chk.binding == "daily_loss" else BlockReason.MAX_LOSS
    worst = worst_case_equity(chk.equity, balance, positions, specs, marks)
    headroom = worst - floor - extra_cost
    per_lot = loss_per_lot(entry, sl, spec)
    if per_lot <= 0:
        return GuardDecision(Verdict.BLOCK, 0.0, worst, floor, BlockReason.BROKER_ERROR, "zero stop distance")
    if headroom <= 0:
        return GuardDecision(
            Verdict.BLOCK, 0.0, worst, floor, reason,
            f"worst-case equity {worst:.2f} leaves no room above the {reason.value} floor {floor:.2f}",
        )
    if volume * per_lot <= headroom:
        return GuardDecision(Verdict.ALLOW, volume, worst, floor)
    reduced = min(volume_for_budget(headroom, entry, sl, spec), volume)
    if reduced <= 0:
        return GuardDecision(
            Verdict.BLOCK, 0.0, worst, floor, reason,
            f"headroom {headroom:.2f} above the {reason.value} floor {floor:.2f} is below one "
            f"minimum lot's loss {spec.min_lot * per_lot:.2f}",
        )
    return GuardDecision(
        Verdict.REDUCE, reduced, worst, floor, reason,
        f"reduced {volume} -> {reduced} lots to keep worst-case equity above {floor:.2f}",
    )
