"""JSON shapes of the broker values and errors on the shim's wire (both sides import this)."""

from __future__ import annotations

from typing import Any

from domain.signals import Direction
from domain.trading import DEFAULT_MARGIN_RATE, AccountState, OrderRequest, SymbolSpec
from ports.errors import (
    BrokerDisconnected,
    BrokerError,
    InsufficientMargin,
    MarketClosed,
    OrderRejected,
    Requote,
    UnknownPosition,
    UnknownSymbol,
)

API = "/v1"

# error code -> (HTTP status, exception class). Order matters for `code_of`: subclasses first.
ERRORS: dict[str, tuple[int, type[Exception]]] = {
    "insufficient_margin": (422, InsufficientMargin),
    "rejected": (422, OrderRejected),
    "requote": (409, Requote),
    "market_closed": (409, MarketClosed),
    "unknown_position": (404, UnknownPosition),
    "unknown_symbol": (404, UnknownSymbol),
    "disconnected": (503, BrokerDisconnected),
    "broker_error": (502, BrokerError),
}


def code_of(exc: Exception) -> str | None:
    for code, (_status, cls) in ERRORS.items():
        if isinstance(exc, cls):
            return code
    return None


def account_to(a: AccountState) -> dict[str, Any]:
    return {
        "balance": a.balance,
        "equity": a.equity,
        "margin": a.margin,
        "currency": a.currency,
        "initial_balance": a.initial_balance,
    }


def account_from(d: dict[str, Any]) -> AccountState:
    return AccountState(
        balance=float(d["balance"]),
        equity=float(d["equity"]),
        margin=float(d["margin"]),
        currency=str(d["currency"]),
        initial_balance=float(d["initial_balance"]),
    )


def order_to(r: OrderRequest) -> dict[str, Any]:
    return {
        "client_order_id": r.client_order_id,
        "pair": r.pair,
        "direction": r.direction.value,
        "volume": r.volume,
        "sl": r.sl,
        "tp": r.tp,
        "entry_hint": r.entry_hint,
    }


def order_from(d: dict[str, Any]) -> OrderRequest:
    return OrderRequest(
        client_order_id=str(d["client_order_id"]),
        pair=str(d["pair"]),
        direction=Direction(d["direction"]),
        volume=float(d["volume"]),
        sl=float(d["sl"]),
        tp=None if d.get("tp") is None else float(d["tp"]),
        entry_hint=None if d.get("entry_hint") is None else float(d["entry_hint"]),
    )


def spec_to(s: SymbolSpec) -> dict[str, Any]:
    return {
        "pair": s.pair,
        "broker_symbol": s.broker_symbol,
        "contract_size": s.contract_size,
        "min_lot": s.min_lot,
        "lot_step": s.lot_step,
        "digits": s.digits,
        "max_lot": s.max_lot,
        "margin_rate": s.margin_rate,
    }


def spec_from(d: dict[str, Any]) -> SymbolSpec:
    return SymbolSpec(
        pair=str(d["pair"]),
        broker_symbol=str(d["broker_symbol"]),
        contract_size=float(d["contract_size"]),
        min_lot=float(d["min_lot"]),
        lot_step=float(d["lot_step"]),
        digits=int(d["digits"]),
        max_lot=float(d["max_lot"]),
        # a shim server older than the margin field: assume no leverage (the conservative default)
        margin_rate=float(d.get("margin_rate", DEFAULT_MARGIN_RATE)),
    )
