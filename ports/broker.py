"""Broker: the trading account (paper, MT5, MetaAPI, REST shim)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec


@runtime_checkable
class Broker(Protocol):
    """A trading account.

    Contract:
    - `place_order(req)` sends a market order with SL (and optional TP) and returns its Fill.
      It is IDEMPOTENT on `req.client_order_id`: a repeated call with the same id returns the
      original Fill and opens nothing new. Failures raise `ports.errors.BrokerError` subclasses:
      OrderRejected (incl. InsufficientMargin), Requote, MarketClosed, BrokerDisconnected; on any
      raise, no position was opened.
    - `positions()` lists open positions ordered by `opened_at_ms` then `position_id`; each
      carries the client_order_id that opened it.
    - `close_position(position_id)` closes fully and returns the closing Fill; an unknown or
      already-closed id raises `ports.errors.UnknownPosition`.
    - `modify_position(position_id, sl, tp)` changes stops; unknown id -> UnknownPosition;
      stops on the wrong side -> OrderRejected.
    - `account()` reflects fills at once: balance changes on close, equity includes floating P&L.
    - `symbol_info(pair)` maps "BTC/USDT" to the broker's spec; unknown -> `ports.errors.UnknownSymbol`.
    - `quote(pair)` returns (bid, ask) with bid <= ask.
    - `fills(since_ms)` returns fills with at_ms >= since_ms in execution order.
    """

    def account(self) -> AccountState: ...

    def positions(self) -> list[Position]: ...

    def place_order(self, req: OrderRequest) -> Fill: ...

    def close_position(self, position_id: str) -> Fill: ...

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None: ...

    def symbol_info(self, pair: str) -> SymbolSpec: ...

    def quote(self, pair: str) -> tuple[float, float]: ...

    def fills(self, since_ms: int = 0) -> list[Fill]: ...
