"""Position sizing from a risk budget and the stop distance, capped by the free margin."""

from __future__ import annotations

import attrs
import numba
import numpy as np

from domain.signals import BLOCK_CODES, BlockReason
from domain.trading import SymbolSpec, floor_volume_at

_BELOW_MIN_LOT = BLOCK_CODES[BlockReason.BELOW_MIN_LOT]
_INSUFFICIENT_MARGIN = BLOCK_CODES[BlockReason.INSUFFICIENT_MARGIN]


def loss_per_lot(entry: float, sl: float, spec: SymbolSpec) -> float:
    """Money lost per 1.0 lot if the stop is hit."""
    return abs(entry - sl) * spec.contract_size


@numba.njit(cache=True)
def volume_within(budget: float, per_lot: float, lot_step: float, min_lot: float, max_lot: float) -> float:
    """Largest volume (a multiple of lot_step, >= min_lot, <= max_lot) with volume x per_lot <= budget;
    0.0 if none. Compiled: sizing, the guard and the backtest kernel share it."""
    if per_lot <= 0 or budget <= 0:
        return 0.0
    vol = floor_volume_at(budget / per_lot, lot_step, min_lot, max_lot)
    # floor_volume tolerates float noise upward; step back if that crossed the budget.
    while vol > 0 and vol * per_lot > budget:
        vol = floor_volume_at(vol - lot_step, lot_step, min_lot, max_lot)
    return vol


def _volume_within(budget: float, per_lot: float, spec: SymbolSpec) -> float:
    return float(volume_within(float(budget), float(per_lot), spec.lot_step, spec.min_lot, spec.max_lot))


def volume_for_budget(budget: float, entry: float, sl: float, spec: SymbolSpec) -> float:
    """Largest volume (a multiple of lot_step, >= min_lot) whose loss at SL is <= budget; 0.0 if none."""
    return _volume_within(budget, loss_per_lot(entry, sl, spec), spec)


def position_size(
    equity: float, risk_pct: float, entry: float, sl: float, spec: SymbolSpec, risk_multiplier: float = 1.0
) -> float:
    """Volume risking `risk_pct`% of equity (times the backoff multiplier) at the stop."""
    return float(
        risk_volume(
            float(equity), float(risk_pct), float(entry), float(sl), spec.contract_size, spec.lot_step,
            spec.min_lot, spec.max_lot, float(risk_multiplier),
        )
    )  # fmt: skip


@numba.njit(cache=True, inline="always")
def risk_volume(
    equity: float,
    risk_pct: float,
    entry: float,
    sl: float,
    contract_size: float,
    lot_step: float,
    min_lot: float,
    max_lot: float,
    risk_multiplier: float,
) -> float:
    """`position_size` on plain numbers (compiled): the risk budget over the loss per lot at the stop."""
    budget = equity * risk_pct / 100.0 * risk_multiplier
    return volume_within(budget, abs(entry - sl) * contract_size, lot_step, min_lot, max_lot)


def margin_price(entry: float, cost_bps: float) -> float:
    """The price a new order's margin is charged at: the reference price worsened by the order's whole
    expected round-trip cost, so a fill slipped by its costs still fits the free margin."""
    return float(margin_price_at(float(entry), float(cost_bps)))


def volume_for_margin(free_margin: float, price: float, spec: SymbolSpec) -> float:
    """Largest volume (lot steps, >= min_lot) whose margin at `price` is <= free_margin; 0.0 if none."""
    return cap_to_margin(np.inf, free_margin, price, spec)


def cap_to_margin(volume: float, free_margin: float, price: float, spec: SymbolSpec) -> float:
    """`volume`, reduced to what the free margin holds at `price` (0.0 below one minimum lot)."""
    return float(
        margin_capped(
            float(volume), float(free_margin), float(price), spec.contract_size, spec.margin_rate, spec.lot_step,
            spec.min_lot, spec.max_lot,
        )
    )  # fmt: skip


@numba.njit(cache=True, inline="always")
def margin_price_at(entry: float, cost_bps: float) -> float:
    """`margin_price` on plain numbers (compiled)."""
    return abs(entry) * (1.0 + max(cost_bps, 0.0) / 1e4)


@numba.njit(cache=True, inline="always")
def margin_capped(
    volume: float,
    free_margin: float,
    price: float,
    contract_size: float,
    margin_rate: float,
    lot_step: float,
    min_lot: float,
    max_lot: float,
) -> float:
    """`cap_to_margin` on plain numbers (compiled): the margin of one lot at `price` is
    SymbolSpec.margin_for's `rate x |price| x 1 x contract size`."""
    per_lot = margin_rate * abs(price) * 1.0 * contract_size
    return min(volume, volume_within(free_margin, per_lot, lot_step, min_lot, max_lot))


@attrs.frozen
class Sizing:
    """A sized order: its volume, or 0.0 and why (`block`, `detail`); `margin_capped` when the free
    margin, not the risk budget, set the volume."""

    volume: float
    block: BlockReason | None = None
    detail: str = ""
    margin_capped: bool = False


def size_order(
    equity: float,
    risk_pct: float,
    entry: float,
    sl: float,
    spec: SymbolSpec,
    *,
    free_margin: float,
    cost_bps: float = 0.0,
    risk_multiplier: float = 1.0,
) -> Sizing:
    """The risk-budget volume (`position_size`), capped so the new position's margin fits the free
    margin (equity - used margin) at `margin_price(entry, cost_bps)`. The live desk and the batch
    engine both size through here."""
    code, vol, risk_vol, price = sized_volume(
        float(equity), float(risk_pct), float(entry), float(sl), spec.contract_size, spec.min_lot, spec.lot_step,
        spec.max_lot, spec.margin_rate, float(free_margin), float(cost_bps), float(risk_multiplier),
    )  # fmt: skip
    return sizing_of(code, vol, risk_vol, price, free_margin, spec)


def sizing_of(code: int, vol: float, risk_vol: float, price: float, free_margin: float, spec: SymbolSpec) -> Sizing:
    """The `Sizing` record of `sized_volume`'s answer."""
    if code == _BELOW_MIN_LOT:
        return Sizing(0.0, BlockReason.BELOW_MIN_LOT, f"risk budget buys less than {spec.min_lot} lots")
    if code == _INSUFFICIENT_MARGIN:
        return Sizing(
            0.0,
            BlockReason.INSUFFICIENT_MARGIN,
            f"free margin {free_margin:.2f} is below one minimum lot's margin "
            f"{spec.margin_for(spec.min_lot, price):.2f} ({spec.min_lot} lots at {price:.2f}, "
            f"rate {spec.margin_rate:g})",
        )
    return Sizing(vol, None, "", vol < risk_vol)


@numba.njit(cache=True)
def sized_volume(
    equity: float,
    risk_pct: float,
    entry: float,
    sl: float,
    contract_size: float,
    min_lot: float,
    lot_step: float,
    max_lot: float,
    margin_rate: float,
    free_margin: float,
    cost_bps: float,
    risk_multiplier: float,
) -> tuple[int, float, float, float]:
    """`size_order` on plain numbers (compiled; domain.decision's compiled decision sizes here):
    (block code or 0, volume, the risk-budget volume, the margin price)."""
    risk_vol = risk_volume(equity, risk_pct, entry, sl, contract_size, lot_step, min_lot, max_lot, risk_multiplier)
    if risk_vol <= 0:
        return _BELOW_MIN_LOT, 0.0, risk_vol, 0.0
    price = abs(entry) * (1.0 + max(cost_bps, 0.0) / 1e4)
    vol = min(
        risk_vol, volume_within(free_margin, margin_rate * abs(price) * 1.0 * contract_size, lot_step, min_lot, max_lot)
    )
    if vol <= 0:
        return _INSUFFICIENT_MARGIN, 0.0, risk_vol, price
    return 0, vol, risk_vol, price
