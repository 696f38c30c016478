"""Micro-lot mode (the plan's phase 7): every order at 0.01 lots, every fill journalled.

`MicroLotBroker` wraps any Broker. It sends each order at the smallest tradable volume (0.01 lots, or
the symbol's minimum if larger), and for every trade writes to the risk book (when given one) or to
its own journal: the expected fill (the signal's entry) against the realised fill (slippage in bps),
the slippage the execution model expected, the latency, and on exit the R realised from the fill
prices against the planned stop distance. The fills themselves stay available through `fills()`,
which is what `trading-ai exec-metrics update --source broker` measures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from domain.market import Session, primary_session
from domain.risk_book import TradeRecord
from domain.signals import Direction, Mode, Tier
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.broker import Broker
from ports.clock import Clock
from ports.errors import DuplicateRecord, StorageError

MICRO_LOT = 0.01


def expected_slippage_from(model: Any) -> Callable[[str, int, float], float]:
    """Expected one-way cost (bps, relative to the mid the signal saw) from an execution model:
    half the mean spread, the mean slippage and the latency penalty."""

    def expected(pair: str, at_ms: int, latency_ms: float) -> float:
        session = primary_session(at_ms) or Session.NEW_YORK
        return float(model.expected_round_trip_cost_bps(pair, session, latency_ms)) / 2

    return expected


class MicroLotBroker:
    def __init__(
        self,
        inner: Broker,
        clock: Clock,
        risk_book: Any = None,
        expected_slippage: Callable[[str, int, float], float] | None = None,
        mode: Mode = Mode.LIVE,
        lot: float = MICRO_LOT,
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._book = risk_book
        self._expected = expected_slippage
        self._mode = mode
        self._lot = lot
        self._lock = threading.RLock()
        self._journal: dict[str, TradeRecord] = {}
        self._open: dict[str, tuple[str, Fill]] = {}  # position id -> (client order id, opening fill)
        self._seen_close: set[str] = set()

    # --- pass-through -----------------------------------------------------------------------------

    def account(self) -> AccountState:
        return self._inner.account()

    def symbol_info(self, pair: str) -> SymbolSpec:
        return self._inner.symbol_info(pair)

    def quote(self, pair: str) -> tuple[float, float]:
        return self._inner.quote(pair)

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        self._inner.modify_position(position_id, sl, tp)

    def positions(self) -> list[Position]:
        found = self._inner.positions()
        self.sync()
        return found

    def fills(self, since_ms: int = 0) -> list[Fill]:
        return self._inner.fills(since_ms)

    # --- trading ----------------------------------------------------------------------------------

    def place_order(self, req: OrderRequest) -> Fill:
        with self._lock:
            spec = self._inner.symbol_info(req.pair)
            volume = max(spec.min_lot, spec.floor_volume(self._lot) or spec.min_lot)
            fill = self._inner.place_order(attrs.evolve(req, volume=volume))
            if fill.position_id not in self._open:
                self._open[fill.position_id] = (req.client_order_id, fill)
                self._record_entry(req, fill)
            return fill

    def close_position(self, position_id: str) -> Fill:
        with self._lock:
            fill = self._inner.close_position(position_id)
            self._record_exit(position_id, fill)
            return fill

    def sync(self) -> None:
        """Journal exits the broker executed by itself (stop loss, take profit)."""
        with self._lock:
            if not self._open:
                return
            since = min(f.at_ms for _cid, f in self._open.values())
            for f in self._inner.fills(since):
                if (
                    f.position_id in self._open
                    and f.direction is not None
                    and f.direction is not self._open[f.position_id][1].direction
                ):
                    self._record_exit(f.position_id, f)

    def journal(self) -> list[TradeRecord]:
        """Trades journalled by this process (also written to the risk book when one was given)."""
        with self._lock:
            return sorted(self._journal.values(), key=lambda r: (r.entry_time_ms, r.signal_id))

    # --- journalling ------------------------------------------------------------------------------

    def _record_entry(self, req: OrderRequest, fill: Fill) -> None:
        expected_price = req.entry_hint if req.entry_hint is not None else fill.requested_price
        slip = fill.slippage_bps(req.direction)
        exp = self._expected(req.pair, fill.at_ms, fill.latency_ms) if self._expected else None
        existing = self._book.get(req.client_order_id) if self._book is not None else None
        if existing is not None:
            rec = attrs.evolve(existing, slippage_bps=slip, slippage_expected_bps=exp, latency_ms=fill.latency_ms)
            self._book.update(rec)
        else:
            risk = abs(expected_price - req.sl)
            tp = req.tp if req.tp is not None else expected_price + req.direction.sign * risk
            rec = TradeRecord(
                signal_id=req.client_order_id,
                pair=req.pair,
                tier=Tier.NONE,
                entry_time_ms=fill.at_ms,
                entry_price=expected_price,
                tp_price=tp,
                sl_price=req.sl,
                rr_expected=abs(tp - expected_price) / risk if risk else 0.0,
                slippage_bps=slip,
                slippage_expected_bps=exp,
                latency_ms=fill.latency_ms,
                mode=self._mode,
            )
            if self._book is not None:
                try:
                    self._book.add(rec)
                except (DuplicateRecord, StorageError):
                    self._book.update(rec)
        self._journal[req.client_order_id] = rec

    def _record_exit(self, position_id: str, fill: Fill) -> None:
        opened = self._open.pop(position_id, None)
        if opened is None or position_id in self._seen_close:
            return
        self._seen_close.add(position_id)
        cid, entry_fill = opened
        rec = self._journal.get(cid) or (self._book.get(cid) if self._book is not None else None)
        if rec is None:
            return
        closed = rec.close(fill.at_ms, fill.fill_price)
        # R from what was really paid and received, over the risk that was planned.
        sign = (entry_fill.direction or Direction.LONG).sign
        risk = abs(rec.entry_price - rec.sl_price)
        r = sign * (fill.fill_price - entry_fill.fill_price) / risk if risk else 0.0
        closed = attrs.evolve(closed, r_realized=r, result="W" if r > 0 else "L")
        self._journal[cid] = closed
        if self._book is not None:
            self._book.update(closed)
