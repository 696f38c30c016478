"""Position sizing from a risk budget and the stop distance."""

from __future__ import annotations

from domain.trading import SymbolSpec


def loss_per_lot(entry: float, sl: float, spec: SymbolSpec) -> float:
    """Money lost per 1.0 lot if the stop is hit."""
    return abs(entry - sl) * spec.contract_size


def volume_for_budget(budget: float, entry: float, sl: float, spec: SymbolSpec) -> float:
    """Largest volume (a multiple of lot_step, >= min_lot) whose loss at SL is <= budget; 0.0 if none."""
    per_lot = loss_per_lot(entry, sl, spec)
    if per_lot <= 0 or budget <= 0:
        return 0.0
    vol = spec.floor_volume(budget / per_lot)
    # floor_volume tolerates float noise upward; step back if that crossed the budget.
    while vol > 0 and vol * per_lot > budget:
        vol = spec.floor_volume(vol - spec.lot_step)
    return vol


def position_size(
    equity: float, risk_pct: float, entry: float, sl: float, spec: SymbolSpec, risk_multiplier: float = 1.0
) -> float:
    """Volume risking `risk_pct`% of equity (times the backoff multiplier) at the stop."""
    budget = equity * risk_pct / 100.0 * risk_multiplier
    return volume_for_budget(budget, entry, sl, spec)
