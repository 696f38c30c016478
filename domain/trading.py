"""Broker-side vocabulary: account, positions, orders, fills and symbol specifications.

Prices are in the instrument's quote currency; money amounts in the account currency. Volumes are
in lots (1 lot = contract_size units of the base asset).
"""

from __future__ import annotations

import math

import attrs
import numba
import numpy as np

from domain.signals import Direction


@attrs.frozen
class AccountState:
    """Balance excludes floating P&L; equity includes it (plus commissions and swaps). `margin` is the
    margin the open positions hold."""

    balance: float
    equity: float
    margin: float = 0.0
    currency: str = "USD"
    initial_balance: float = 100_000.0

    @property
    def floating_pnl(self) -> float:
        return self.equity - self.balance

    @property
    def free_margin(self) -> float:
        """What a new position's margin may use: equity minus the margin already held."""
        return self.equity - self.margin


# Margin a symbol needs when its broker does not say: the whole notional (no leverage). The most
# conservative choice: an adapter that knows its leverage (paper: 1/leverage; MT5/MetaAPI: the
# terminal's own margin calculation) replaces it, and a wrong guess can only make orders smaller.
DEFAULT_MARGIN_RATE = 1.0


@attrs.frozen
class SymbolSpec:
    """How a pair trades at a broker: its name there, contract size, lot granularity and margin.

    `margin_rate`: margin required per unit of notional (margin = rate x price x volume x contract
    size; 1/leverage, e.g. 0.5 at 1:2).
    """

    pair: str
    broker_symbol: str
    contract_size: float = 1.0
    min_lot: float = 0.01
    lot_step: float = 0.01
    digits: int = 2
    max_lot: float = 100.0
    margin_rate: float = DEFAULT_MARGIN_RATE

    def __attrs_post_init__(self) -> None:
        if self.contract_size <= 0 or self.min_lot <= 0 or self.lot_step <= 0:
            raise ValueError(f"{self.pair}: contract_size, min_lot and lot_step must be positive")
        if not 0 < self.margin_rate <= 10:
            raise ValueError(f"{self.pair}: margin_rate must be in (0, 10], got {self.margin_rate}")

    def margin_for(self, volume: float, price: float) -> float:
        """Margin `volume` lots hold at `price` (account currency = quote currency)."""
        return self.margin_rate * abs(price) * volume * self.contract_size

    def round_price(self, price: float) -> float:
        return round(price, self.digits)

    def floor_volume(self, volume: float) -> float:
        """Round a volume down to the lot step (tolerant of float noise), 0.0 if below min_lot."""
        return float(floor_volume_at(float(volume), self.lot_step, self.min_lot, self.max_lot))


@attrs.frozen
class Position:
    """An open position. `sl` is mandatory: the guard's worst case relies on it."""

    position_id: str
    pair: str
    direction: Direction
    volume: float
    entry: float
    sl: float
    tp: float | None
    opened_at_ms: int
    client_order_id: str = ""

    def loss_at_sl(self, contract_size: float) -> float:
        """Money lost (positive) if the stop is hit; negative if the stop locks in profit."""
        return self.direction.sign * (self.entry - self.sl) * self.volume * contract_size

    def pnl_at(self, price: float, contract_size: float) -> float:
        return self.direction.sign * (price - self.entry) * self.volume * contract_size


@attrs.frozen
class OrderRequest:
    """A market order with protective stops. `client_order_id` makes placement idempotent."""

    client_order_id: str
    pair: str
    direction: Direction
    volume: float
    sl: float
    tp: float | None = None
    entry_hint: float | None = None

    def __attrs_post_init__(self) -> None:
        if self.volume <= 0:
            raise ValueError(f"order {self.client_order_id}: volume must be positive")


@attrs.frozen
class Fill:
    """The execution of an order (or of a close)."""

    client_order_id: str
    pair: str
    requested_price: float
    fill_price: float
    volume: float
    at_ms: int
    latency_ms: float = 0.0
    position_id: str = ""
    direction: Direction | None = None

    def slippage_bps(self, direction: Direction | None = None) -> float:
        """Adverse slippage in basis points (positive = worse than requested)."""
        d = direction or self.direction or Direction.LONG
        if self.requested_price == 0:
            return 0.0
        return d.sign * (self.fill_price - self.requested_price) / self.requested_price * 1e4


@numba.njit(cache=True)
def floor_volume_at(volume: float, lot_step: float, min_lot: float, max_lot: float) -> float:
    """`SymbolSpec.floor_volume` on plain numbers (compiled: sizing, the guard and the backtest kernel
    round volumes here). The step multiple is rounded to 10 decimals (multiply, round half even,
    divide), which gives the nearest double to a lot-step multiple."""
    steps = math.floor(volume / lot_step + 1e-9)
    vol = np.rint(steps * lot_step * 1e10) / 1e10
    vol = min(vol, max_lot)
    return vol if vol + 1e-12 >= min_lot else 0.0
