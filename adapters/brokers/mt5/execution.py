"""Mt5Broker: the Broker port over the `MetaTrader5` package's API.

The module object is injected (the real package on Windows, a fake in tests), so this file never
imports MetaTrader5 itself. Client order ids travel in the order comment (31 characters; longer ids
are hashed by `order_tag`), which makes placement idempotent across restarts: before sending, the
adapter looks for an open position or an entry deal carrying the same tag and returns that fill.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.brokers.ids import MT5_COMMENT_MAX, order_tag
from adapters.brokers.mt5.config import Mt5Config
from adapters.brokers.mt5.errors import DONE_CODES, error_for
from adapters.brokers.symbols import broker_symbol, pair_of
from domain.signals import Direction
from domain.trading import DEFAULT_MARGIN_RATE, AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.errors import BrokerDisconnected, UnknownPosition, UnknownSymbol

log = logging.getLogger(__name__)

_HISTORY_START_MS = 946_684_800_000  # 2000-01-01: fills() and the idempotence check read the whole history


class Mt5Broker:
    def __init__(self, mt5: Any, config: Mt5Config, initial_balance: float | None = None) -> None:
        self._mt5 = mt5
        self._cfg = config
        self._initial_balance = initial_balance
        self._lock = threading.RLock()  # the MetaTrader5 package is not thread-safe
        self._connected = False
        self._requested: dict[int, tuple[float, float]] = {}  # deal ticket -> (requested price, latency ms)
        self._ids: dict[str, str] = {}  # comment tag -> the full client order id, for ids longer than a comment
        self._margin_rates: dict[str, float] = {}  # broker symbol -> margin per unit of notional

    # --- connection ---------------------------------------------------------------------------------

    def connect(self) -> None:
        with self._lock:
            kwargs: dict[str, Any] = {"timeout": self._cfg.timeout_ms}
            if self._cfg.login:
                kwargs.update(login=int(self._cfg.login), password=self._cfg.password, server=self._cfg.server)
            ok = self._mt5.initialize(self._cfg.path, **kwargs) if self._cfg.path else self._mt5.initialize(**kwargs)
            if not ok:
                code, msg = self._mt5.last_error()
                raise BrokerDisconnected(f"MT5 initialize failed: {code} {msg}")
            self._connected = True

    def shutdown(self) -> None:
        with self._lock:
            self._mt5.shutdown()
            self._connected = False

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the terminal; a None answer means it lost its server (or never had one)."""
        if not self._connected:
            self.connect()
        result = getattr(self._mt5, name)(*args, **kwargs)
        if result is None:
            code, msg = self._mt5.last_error()
            if code == -1 and name in ("symbol_info", "symbol_info_tick"):
                raise UnknownSymbol(f"MT5 has no symbol {args[0]!r} (is it in Market Watch?)")
            self._connected = code not in (-10004, -10003)
            raise BrokerDisconnected(f"MT5 {name} failed: {code} {msg}")
        return result

    # --- Broker port -------------------------------------------------------------------------------

    def account(self) -> AccountState:
        with self._lock:
            info = self._call("account_info")
            return AccountState(
                balance=float(info.balance),
                equity=float(info.equity),
                margin=float(info.margin),
                currency=str(info.currency),
                initial_balance=self._initial_balance or float(info.balance),
            )

    def positions(self) -> list[Position]:
        with self._lock:
            out = [self._position(p) for p in self._call("positions_get")]
            return sorted((p for p in out if p is not None), key=lambda p: (p.opened_at_ms, p.position_id))

    def place_order(self, req: OrderRequest) -> Fill:
        with self._lock:
            tag = order_tag(req.client_order_id, MT5_COMMENT_MAX)
            self._ids[tag] = req.client_order_id
            existing = self._existing_fill(tag, req)
            if existing is not None:
                return existing
            spec = self.symbol_info(req.pair)
            tick = self._call("symbol_info_tick", spec.broker_symbol)
            buy = req.direction is Direction.LONG
            price = float(tick.ask if buy else tick.bid)
            request = {
                "action": self._mt5.TRADE_ACTION_DEAL,
                "symbol": spec.broker_symbol,
                "volume": float(req.volume),
                "type": self._mt5.ORDER_TYPE_BUY if buy else self._mt5.ORDER_TYPE_SELL,
                "price": price,
                "sl": float(req.sl),
                "tp": float(req.tp or 0.0),
                "deviation": self._cfg.deviation,
                "magic": self._cfg.magic,
                "comment": tag,
                "type_time": self._mt5.ORDER_TIME_GTC,
                "type_filling": self._filling(spec.broker_symbol),
            }
            started = time.perf_counter()
            result = self._send(request, f"order {req.client_order_id} {req.pair}")
            latency = (time.perf_counter() - started) * 1000
            requested = req.entry_hint if req.entry_hint is not None else price
            self._requested[int(result.deal)] = (requested, latency)
            at_ms = self._deal_time(int(result.deal))
            return Fill(
                client_order_id=req.client_order_id,
                pair=req.pair,
                requested_price=requested,
                fill_price=float(result.price),
                volume=float(result.volume),
                at_ms=at_ms,
                latency_ms=latency,
                position_id=str(result.order),
                direction=req.direction,
            )

    def close_position(self, position_id: str) -> Fill:
        with self._lock:
            raw = self._raw_position(position_id)
            pos = self._position(raw)
            if pos is None:
                raise UnknownPosition(f"position {position_id} is not one of this system's symbols")
            tick = self._call("symbol_info_tick", raw.symbol)
            long = pos.direction is Direction.LONG
            price = float(tick.bid if long else tick.ask)
            request = {
                "action": self._mt5.TRADE_ACTION_DEAL,
                "symbol": raw.symbol,
                "volume": float(raw.volume),
                "type": self._mt5.ORDER_TYPE_SELL if long else self._mt5.ORDER_TYPE_BUY,
                "position": int(raw.ticket),
                "price": price,
                "deviation": self._cfg.deviation,
                "magic": self._cfg.magic,
                "comment": order_tag("close:" + pos.client_order_id, MT5_COMMENT_MAX),
                "type_time": self._mt5.ORDER_TIME_GTC,
                "type_filling": self._filling(raw.symbol),
            }
            started = time.perf_counter()
            result = self._send(request, f"close {position_id}", unknown_position=position_id)
            latency = (time.perf_counter() - started) * 1000
            self._requested[int(result.deal)] = (price, latency)
            return Fill(
                client_order_id=pos.client_order_id,
                pair=pos.pair,
                requested_price=price,
                fill_price=float(result.price),
                volume=float(result.volume),
                at_ms=self._deal_time(int(result.deal)),
                latency_ms=latency,
                position_id=pos.position_id,
                direction=pos.direction.opposite,
            )

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        with self._lock:
            raw = self._raw_position(position_id)
            request = {
                "action": self._mt5.TRADE_ACTION_SLTP,
                "symbol": raw.symbol,
                "position": int(raw.ticket),
                "sl": float(raw.sl if sl is None else sl),
                "tp": float(tp or 0.0),
                "magic": self._cfg.magic,
            }
            self._send(request, f"modify {position_id}", unknown_position=position_id)

    def symbol_info(self, pair: str) -> SymbolSpec:
        with self._lock:
            sym = broker_symbol(pair, self._cfg.symbol_map)
            info = self._call("symbol_info", sym)
            if not info.visible:
                self._mt5.symbol_select(sym, True)
            cs = float(info.trade_contract_size)
            return SymbolSpec(
                pair=pair,
                broker_symbol=sym,
                contract_size=cs,
                min_lot=float(info.volume_min),
                lot_step=float(info.volume_step),
                digits=int(info.digits),
                max_lot=float(info.volume_max),
                margin_rate=self._margin_rate(sym, cs),
            )

    def _margin_rate(self, sym: str, contract_size: float) -> float:
        """Margin per unit of notional from the terminal's own calculation (`order_calc_margin` for one
        lot at the ask: it applies the symbol's calculation mode, margin rate and the account's leverage).
        Cached per symbol; DEFAULT_MARGIN_RATE (no leverage) when the terminal cannot tell."""
        rate = self._margin_rates.get(sym)
        if rate is not None:
            return rate
        rate = DEFAULT_MARGIN_RATE
        calc = getattr(self._mt5, "order_calc_margin", None)
        if calc is not None:
            tick = self._call("symbol_info_tick", sym)
            margin = calc(self._mt5.ORDER_TYPE_BUY, sym, 1.0, float(tick.ask))
            if margin is not None and margin > 0 and tick.ask > 0:
                rate = min(float(margin) / (float(tick.ask) * contract_size), 10.0)
            else:
                log.warning("MT5 order_calc_margin(%s) gave %r; sizing assumes margin rate %s", sym, margin, rate)
        self._margin_rates[sym] = rate
        return rate

    def quote(self, pair: str) -> tuple[float, float]:
        with self._lock:
            tick = self._call("symbol_info_tick", broker_symbol(pair, self._cfg.symbol_map))
            return float(tick.bid), float(tick.ask)

    def fills(self, since_ms: int = 0) -> list[Fill]:
        with self._lock:
            deals = self._deals_since(since_ms)
            opening = {d.position_id: d for d in deals if d.entry == self._mt5.DEAL_ENTRY_IN}
            out: list[Fill] = []
            for d in sorted(deals, key=lambda d: (d.time_msc, d.ticket)):
                pair = pair_of(d.symbol, self._cfg.symbol_map)
                if pair is None or d.type not in (self._mt5.DEAL_TYPE_BUY, self._mt5.DEAL_TYPE_SELL):
                    continue
                if d.time_msc < since_ms:
                    continue
                first = opening.get(d.position_id)
                if first is None:  # the entry deal is older than since_ms: fetch it for the client id
                    entries = self._call("history_deals_get", position=d.position_id)
                    first = next((x for x in entries if x.entry == self._mt5.DEAL_ENTRY_IN), d)
                requested, latency = self._requested.get(int(d.ticket), (float(d.price), 0.0))
                coid = self._ids.get(str(first.comment), str(first.comment))
                out.append(
                    Fill(
                        client_order_id=coid,
                        pair=pair,
                        requested_price=requested,
                        fill_price=float(d.price),
                        volume=float(d.volume),
                        at_ms=int(d.time_msc),
                        latency_ms=latency,
                        position_id=str(d.position_id),
                        direction=Direction.LONG if d.type == self._mt5.DEAL_TYPE_BUY else Direction.SHORT,
                    )
                )
            return out

    # --- internals ----------------------------------------------------------------------------------

    def _send(self, request: dict[str, Any], what: str, unknown_position: str | None = None) -> Any:
        result = self._call("order_send", request)
        if result.retcode in DONE_CODES:
            return result
        if unknown_position is not None and result.retcode == 10036:  # POSITION_CLOSED
            raise UnknownPosition(f"position {unknown_position} is already closed")
        raise error_for(int(result.retcode), str(result.comment), what)

    def _filling(self, symbol: str) -> int:
        info = self._call("symbol_info", symbol)
        if info.filling_mode & self._mt5.SYMBOL_FILLING_FOK:
            return int(self._mt5.ORDER_FILLING_FOK)
        if info.filling_mode & self._mt5.SYMBOL_FILLING_IOC:
            return int(self._mt5.ORDER_FILLING_IOC)
        return int(self._mt5.ORDER_FILLING_RETURN)

    def _raw_position(self, position_id: str) -> Any:
        try:
            ticket = int(position_id)
        except ValueError:
            raise UnknownPosition(f"no open position {position_id!r} (MT5 tickets are integers)") from None
        found = self._call("positions_get", ticket=ticket)
        if not found:
            raise UnknownPosition(f"no open position {position_id}")
        return found[0]

    def _position(self, p: Any) -> Position | None:
        pair = pair_of(p.symbol, self._cfg.symbol_map)
        if pair is None:
            return None
        direction = Direction.LONG if p.type == self._mt5.POSITION_TYPE_BUY else Direction.SHORT
        return Position(
            position_id=str(p.ticket),
            pair=pair,
            direction=direction,
            volume=float(p.volume),
            entry=float(p.price_open),
            sl=float(p.sl),
            tp=float(p.tp) or None,
            opened_at_ms=int(p.time_msc),
            client_order_id=self._ids.get(str(p.comment), str(p.comment)),
        )

    def _deals_since(self, since_ms: int) -> tuple[Any, ...]:
        start = datetime.fromtimestamp(max(since_ms, _HISTORY_START_MS) / 1000, tz=UTC)
        end = datetime.now(tz=UTC) + timedelta(days=1)  # server time runs ahead of UTC at most brokers
        return tuple(self._call("history_deals_get", start, end))

    def _deal_time(self, deal: int) -> int:
        found = self._call("history_deals_get", ticket=deal)
        return int(found[0].time_msc) if found else int(time.time() * 1000)

    def _existing_fill(self, tag: str, req: OrderRequest) -> Fill | None:
        """The fill of an earlier send with this client id (still open or already closed), if any."""
        for p in self._call("positions_get"):
            if p.comment == tag:
                deals = self._call("history_deals_get", position=p.ticket)
                entry = next((d for d in deals if d.entry == self._mt5.DEAL_ENTRY_IN), None)
                return (
                    self._fill_from(entry, req, p.ticket)
                    if entry
                    else Fill(
                        client_order_id=req.client_order_id,
                        pair=req.pair,
                        requested_price=float(p.price_open),
                        fill_price=float(p.price_open),
                        volume=float(p.volume),
                        at_ms=int(p.time_msc),
                        position_id=str(p.ticket),
                        direction=req.direction,
                    )
                )
        for d in self._deals_since(0):
            if d.entry == self._mt5.DEAL_ENTRY_IN and d.comment == tag:
                return self._fill_from(d, req, d.position_id)
        return None

    def _fill_from(self, deal: Any, req: OrderRequest, position: int) -> Fill:
        requested, latency = self._requested.get(int(deal.ticket), (float(deal.price), 0.0))
        return Fill(
            client_order_id=req.client_order_id,
            pair=req.pair,
            requested_price=requested,
            fill_price=float(deal.price),
            volume=float(deal.volume),
            at_ms=int(deal.time_msc),
            latency_ms=latency,
            position_id=str(position),
            direction=req.direction,
        )
