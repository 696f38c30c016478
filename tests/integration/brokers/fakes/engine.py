"""A fake MT5 trade server: account, symbols, ticks, hedging positions, deals and retcodes.

It behaves like FTMO's MT5 server as seen from a terminal: market orders fill at the current
ask (buy) or bid (sell), stops are checked against the close side, SL/TP are executed server-side
when a price update crosses them, and every execution is a deal (entry IN/OUT) carrying the
position id. Failures are scripted: `fail_next(retcode)` makes the next trade request return it,
`connected = False` makes every call fail like a terminal without its server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Retcodes and enums exactly as MetaTrader5 defines them.
TRADE_ACTION_DEAL, TRADE_ACTION_SLTP = 1, 6
ORDER_TYPE_BUY, ORDER_TYPE_SELL = 0, 1
DEAL_ENTRY_IN, DEAL_ENTRY_OUT = 0, 1
DEAL_REASON_CLIENT, DEAL_REASON_SL, DEAL_REASON_TP, DEAL_REASON_EXPERT = 0, 4, 5, 3
RC_DONE, RC_REQUOTE, RC_REJECT, RC_INVALID_VOLUME, RC_INVALID_STOPS = 10009, 10004, 10006, 10014, 10016
RC_TRADE_DISABLED, RC_MARKET_CLOSED, RC_NO_MONEY, RC_PRICE_OFF, RC_CONNECTION = 10017, 10018, 10019, 10021, 10031
RC_POSITION_CLOSED, RC_INVALID = 10036, 10013
SYMBOL_TRADE_MODE_DISABLED, SYMBOL_TRADE_MODE_FULL = 0, 4


@dataclass
class FakeSymbol:
    name: str
    bid: float
    ask: float
    digits: int = 2
    contract_size: float = 1.0
    volume_min: float = 0.01
    volume_step: float = 0.01
    volume_max: float = 100.0
    trade_mode: int = SYMBOL_TRADE_MODE_FULL
    filling_mode: int = 2  # SYMBOL_FILLING_IOC
    time_msc: int = 0


@dataclass
class FakePosition:
    ticket: int
    symbol: str
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    time_msc: int
    magic: int
    comment: str


@dataclass
class FakeDeal:
    ticket: int
    order: int
    time_msc: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    profit: float
    symbol: str
    comment: str


@dataclass
class FakeTradeServer:
    clock: Callable[[], int]
    login: int = 5100123
    password: str = "pw"
    server: str = "FTMO-Demo"
    balance: float = 100_000.0
    currency: str = "USD"
    leverage: int = 2
    symbols: dict[str, FakeSymbol] = field(default_factory=dict)
    positions: dict[int, FakePosition] = field(default_factory=dict)
    deals: list[FakeDeal] = field(default_factory=list)
    connected: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)
    _next_ticket: int = 1000
    _scripted: list[int] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- scripting ----------------------------------------------------------------------------------

    def add_symbol(self, name: str, mid: float, spread: float = 10.0, **kw: Any) -> None:
        self.symbols[name] = FakeSymbol(
            name=name, bid=mid - spread / 2, ask=mid + spread / 2, time_msc=self.clock(), **kw
        )

    def set_price(self, name: str, mid: float, spread: float | None = None) -> None:
        with self._lock:
            s = self.symbols[name]
            sp = (s.ask - s.bid) if spread is None else spread
            s.bid, s.ask, s.time_msc = mid - sp / 2, mid + sp / 2, self.clock()
            self._execute_stops(s)

    def fail_next(self, retcode: int) -> None:
        self._scripted.append(retcode)

    # --- account view -------------------------------------------------------------------------------

    def floating(self) -> float:
        return sum(self._profit(p, self._close_price(p)) for p in self.positions.values())

    def margin(self) -> float:
        return sum(
            p.price_open * p.volume * self.symbols[p.symbol].contract_size / self.leverage
            for p in self.positions.values()
        )

    def _close_price(self, p: FakePosition) -> float:
        s = self.symbols[p.symbol]
        return s.bid if p.type == ORDER_TYPE_BUY else s.ask

    def _profit(self, p: FakePosition, price: float) -> float:
        sign = 1 if p.type == ORDER_TYPE_BUY else -1
        return round(sign * (price - p.price_open) * p.volume * self.symbols[p.symbol].contract_size, 2)

    # --- trading ------------------------------------------------------------------------------------

    def order_send(self, req: dict[str, Any]) -> dict[str, Any]:
        """Returns the fields of an OrderSendResult as a dict."""
        with self._lock:
            self.requests.append(dict(req))
            if self._scripted:
                return self._result(self._scripted.pop(0), req)
            action = req.get("action")
            if action == TRADE_ACTION_SLTP:
                return self._modify(req)
            if action != TRADE_ACTION_DEAL:
                return self._result(RC_INVALID, req)
            if req.get("position"):
                return self._close(req)
            return self._open(req)

    def _open(self, req: dict[str, Any]) -> dict[str, Any]:
        s = self.symbols.get(req.get("symbol", ""))
        if s is None:
            return self._result(RC_INVALID, req, comment="Invalid symbol")
        if s.trade_mode == SYMBOL_TRADE_MODE_DISABLED:
            return self._result(RC_TRADE_DISABLED, req)
        vol = float(req["volume"])
        steps = vol / s.volume_step
        if vol < s.volume_min or vol > s.volume_max or abs(steps - round(steps)) > 1e-6:
            return self._result(RC_INVALID_VOLUME, req)
        typ = int(req["type"])
        price = s.ask if typ == ORDER_TYPE_BUY else s.bid
        sign = 1 if typ == ORDER_TYPE_BUY else -1
        close_side = s.bid if typ == ORDER_TYPE_BUY else s.ask
        sl, tp = float(req.get("sl", 0.0) or 0.0), float(req.get("tp", 0.0) or 0.0)
        if (sl and sign * (close_side - sl) <= 0) or (tp and sign * (tp - close_side) <= 0):
            return self._result(RC_INVALID_STOPS, req)
        needed = price * vol * s.contract_size / self.leverage
        if needed > self.balance + self.floating() - self.margin():
            return self._result(RC_NO_MONEY, req)
        ticket = self._ticket()
        now = self.clock()
        self.positions[ticket] = FakePosition(
            ticket, s.name, typ, vol, price, sl, tp, now, int(req.get("magic", 0)), str(req.get("comment", ""))[:31]
        )
        deal = self._deal(
            ticket,
            typ,
            DEAL_ENTRY_IN,
            DEAL_REASON_EXPERT,
            vol,
            price,
            0.0,
            s.name,
            str(req.get("comment", ""))[:31],
            int(req.get("magic", 0)),
        )
        return self._result(RC_DONE, req, deal=deal.ticket, order=ticket, volume=vol, price=price)

    def _close(self, req: dict[str, Any]) -> dict[str, Any]:
        pos = self.positions.get(int(req["position"]))
        if pos is None:
            return self._result(RC_POSITION_CLOSED, req)
        if int(req["type"]) == pos.type:
            return self._result(RC_INVALID, req)
        price = self._close_price(pos)
        deal = self._exit(pos, price, DEAL_REASON_EXPERT, str(req.get("comment", ""))[:31])
        return self._result(RC_DONE, req, deal=deal.ticket, order=deal.order, volume=pos.volume, price=price)

    def _modify(self, req: dict[str, Any]) -> dict[str, Any]:
        pos = self.positions.get(int(req.get("position", 0)))
        if pos is None:
            return self._result(RC_POSITION_CLOSED, req)
        sign = 1 if pos.type == ORDER_TYPE_BUY else -1
        price = self._close_price(pos)
        sl, tp = float(req.get("sl", 0.0) or 0.0), float(req.get("tp", 0.0) or 0.0)
        if (sl and sign * (price - sl) <= 0) or (tp and sign * (tp - price) <= 0):
            return self._result(RC_INVALID_STOPS, req)
        pos.sl, pos.tp = sl, tp
        return self._result(RC_DONE, req)

    def _execute_stops(self, s: FakeSymbol) -> None:
        for pos in sorted(self.positions.values(), key=lambda p: p.ticket):
            if pos.symbol != s.name:
                continue
            sign = 1 if pos.type == ORDER_TYPE_BUY else -1
            price = self._close_price(pos)
            if pos.sl and sign * (price - pos.sl) <= 0:
                self._exit(pos, pos.sl, DEAL_REASON_SL, f"[sl {pos.sl:.{s.digits}f}]")
            elif pos.tp and sign * (price - pos.tp) >= 0:
                self._exit(pos, pos.tp, DEAL_REASON_TP, f"[tp {pos.tp:.{s.digits}f}]")

    def _exit(self, pos: FakePosition, price: float, reason: int, comment: str) -> FakeDeal:
        profit = self._profit(pos, price)
        self.balance = round(self.balance + profit, 2)
        del self.positions[pos.ticket]
        return self._deal(
            pos.ticket, 1 - pos.type, DEAL_ENTRY_OUT, reason, pos.volume, price, profit, pos.symbol, comment, pos.magic
        )

    def _deal(
        self,
        position: int,
        typ: int,
        entry: int,
        reason: int,
        vol: float,
        price: float,
        profit: float,
        symbol: str,
        comment: str,
        magic: int,
    ) -> FakeDeal:
        order = position if entry == DEAL_ENTRY_IN else self._ticket()
        deal = FakeDeal(
            self._ticket(),
            order,
            self.clock(),
            typ,
            entry,
            magic,
            position,
            reason,
            vol,
            price,
            profit,
            symbol,
            comment,
        )
        self.deals.append(deal)
        return deal

    def _ticket(self) -> int:
        self._next_ticket += 1
        return self._next_ticket

    def _result(
        self,
        retcode: int,
        req: dict[str, Any],
        deal: int = 0,
        order: int = 0,
        volume: float = 0.0,
        price: float = 0.0,
        comment: str = "",
    ) -> dict[str, Any]:
        s = self.symbols.get(req.get("symbol", ""))
        return {
            "retcode": retcode,
            "deal": deal,
            "order": order,
            "volume": volume,
            "price": price,
            "bid": s.bid if s else 0.0,
            "ask": s.ask if s else 0.0,
            "comment": comment or ("Request executed" if retcode == RC_DONE else f"retcode {retcode}"),
            "request_id": len(self.requests),
            "retcode_external": 0,
        }
