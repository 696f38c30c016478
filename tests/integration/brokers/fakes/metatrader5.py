"""A fake `MetaTrader5` module over FakeTradeServer, with the real package's function names,
constants and namedtuple results (None plus `last_error()` on failure)."""

from __future__ import annotations

import types
from collections import namedtuple
from datetime import datetime
from typing import Any, TypedDict

from tests.integration.brokers.fakes import engine as e

AccountInfo = namedtuple(
    "AccountInfo",
    "login trade_mode leverage balance credit profit equity margin "
    "margin_free margin_level currency server trade_allowed",
)
TerminalInfo = namedtuple("TerminalInfo", "connected trade_allowed name company")
SymbolInfo = namedtuple(
    "SymbolInfo",
    "name visible digits point trade_contract_size volume_min volume_max volume_step trade_mode filling_mode bid ask",
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc time_update time_update_msc type magic "
    "identifier reason volume price_open sl tp price_current swap "
    "profit symbol comment external_id",
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume "
    "price commission swap profit fee symbol comment external_id",
)
OrderSendResult = namedtuple(
    "OrderSendResult", "retcode deal order volume price bid ask comment request_id retcode_external request"
)


class _TerminalState(TypedDict):
    init: bool
    error: tuple[int, str]


def _ts(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value) * 1000


def build(server: e.FakeTradeServer) -> types.ModuleType:
    mod = types.ModuleType("MetaTrader5")
    state: _TerminalState = {"init": False, "error": (1, "Success")}
    consts = {
        "TRADE_ACTION_DEAL": e.TRADE_ACTION_DEAL,
        "TRADE_ACTION_SLTP": e.TRADE_ACTION_SLTP,
        "ORDER_TYPE_BUY": e.ORDER_TYPE_BUY,
        "ORDER_TYPE_SELL": e.ORDER_TYPE_SELL,
        "POSITION_TYPE_BUY": 0,
        "POSITION_TYPE_SELL": 1,
        "DEAL_TYPE_BUY": 0,
        "DEAL_TYPE_SELL": 1,
        "DEAL_ENTRY_IN": e.DEAL_ENTRY_IN,
        "DEAL_ENTRY_OUT": e.DEAL_ENTRY_OUT,
        "ORDER_FILLING_FOK": 0,
        "ORDER_FILLING_IOC": 1,
        "ORDER_FILLING_RETURN": 2,
        "SYMBOL_FILLING_FOK": 1,
        "SYMBOL_FILLING_IOC": 2,
        "ORDER_TIME_GTC": 0,
        "SYMBOL_TRADE_MODE_DISABLED": 0,
        "SYMBOL_TRADE_MODE_FULL": 4,
        "TRADE_RETCODE_REQUOTE": 10004,
        "TRADE_RETCODE_REJECT": 10006,
        "TRADE_RETCODE_CANCEL": 10007,
        "TRADE_RETCODE_PLACED": 10008,
        "TRADE_RETCODE_DONE": 10009,
        "TRADE_RETCODE_DONE_PARTIAL": 10010,
        "TRADE_RETCODE_ERROR": 10011,
        "TRADE_RETCODE_TIMEOUT": 10012,
        "TRADE_RETCODE_INVALID": 10013,
        "TRADE_RETCODE_INVALID_VOLUME": 10014,
        "TRADE_RETCODE_INVALID_PRICE": 10015,
        "TRADE_RETCODE_INVALID_STOPS": 10016,
        "TRADE_RETCODE_TRADE_DISABLED": 10017,
        "TRADE_RETCODE_MARKET_CLOSED": 10018,
        "TRADE_RETCODE_NO_MONEY": 10019,
        "TRADE_RETCODE_PRICE_CHANGED": 10020,
        "TRADE_RETCODE_PRICE_OFF": 10021,
        "TRADE_RETCODE_TOO_MANY_REQUESTS": 10024,
        "TRADE_RETCODE_CONNECTION": 10031,
        "TRADE_RETCODE_POSITION_CLOSED": 10036,
    }
    for k, v in consts.items():
        setattr(mod, k, v)

    def ready() -> bool:
        if not state["init"] or not server.connected:
            state["error"] = (-10004, "No IPC connection")
            return False
        return True

    def initialize(
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server_name: str | None = None,
        timeout: int | None = None,
        portable: bool = False,
        **kw: Any,
    ) -> bool:
        srv = kw.get("server", server_name)
        if not server.connected:
            state["error"] = (-10003, "IPC initialize failed, MetaTrader 5 x64 not found")
            return False
        if login is not None and (int(login) != server.login or password != server.password or srv != server.server):
            state["error"] = (-6, "Terminal: Authorization failed")
            return False
        state["init"] = True
        state["error"] = (1, "Success")
        return True

    def login(login: int, password: str | None = None, server: str | None = None, timeout: int | None = None) -> bool:
        return initialize(login=login, password=password, server=server)

    def shutdown() -> None:
        state["init"] = False

    def last_error() -> tuple[int, str]:
        return state["error"]

    def account_info() -> AccountInfo | None:
        if not ready():
            return None
        eq = round(server.balance + server.floating(), 2)
        m = round(server.margin(), 2)
        return AccountInfo(
            server.login,
            0,
            server.leverage,
            server.balance,
            0.0,
            round(server.floating(), 2),
            eq,
            m,
            eq - m,
            (eq / m * 100) if m else 0.0,
            server.currency,
            server.server,
            True,
        )

    def terminal_info() -> TerminalInfo | None:
        if not state["init"]:
            state["error"] = (-10004, "No IPC connection")
            return None
        return TerminalInfo(server.connected, True, "MetaTrader 5", "FTMO S.R.O.")

    def symbol_info(symbol: str) -> SymbolInfo | None:
        if not ready():
            return None
        s = server.symbols.get(symbol)
        if s is None:
            state["error"] = (-1, "Terminal: Call failed")
            return None
        return SymbolInfo(
            s.name,
            True,
            s.digits,
            10.0**-s.digits,
            s.contract_size,
            s.volume_min,
            s.volume_max,
            s.volume_step,
            s.trade_mode,
            s.filling_mode,
            s.bid,
            s.ask,
        )

    def symbol_select(symbol: str, enable: bool = True) -> bool:
        return ready() and symbol in server.symbols

    def symbol_info_tick(symbol: str) -> Tick | None:
        if not ready():
            return None
        s = server.symbols.get(symbol)
        if s is None:
            state["error"] = (-1, "Terminal: Call failed")
            return None
        return Tick(s.time_msc // 1000, s.bid, s.ask, 0.0, 0, s.time_msc, 6, 0.0)

    def order_calc_margin(action: int, symbol: str, volume: float, price: float) -> float | None:
        # as the real terminal for a CFD-leverage symbol: notional / account leverage
        if not ready():
            return None
        s = server.symbols.get(symbol)
        if s is None or volume <= 0 or price <= 0:
            state["error"] = (-2, "Terminal: Invalid params")
            return None
        return round(price * volume * s.contract_size / server.leverage, 2)

    def positions_get(
        symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        if not ready():
            return None
        out = []
        for p in sorted(server.positions.values(), key=lambda p: p.ticket):
            if (symbol and p.symbol != symbol) or (ticket is not None and p.ticket != int(ticket)):
                continue
            s = server.symbols[p.symbol]
            cur = s.bid if p.type == 0 else s.ask
            out.append(
                TradePosition(
                    p.ticket,
                    p.time_msc // 1000,
                    p.time_msc,
                    p.time_msc // 1000,
                    p.time_msc,
                    p.type,
                    p.magic,
                    p.ticket,
                    3,
                    p.volume,
                    p.price_open,
                    p.sl,
                    p.tp,
                    cur,
                    0.0,
                    server._profit(p, cur),
                    p.symbol,
                    p.comment,
                    "",
                )
            )
        return tuple(out)

    def orders_get(**kw: Any) -> tuple[()] | None:
        return () if ready() else None

    def order_send(request: dict[str, Any]) -> OrderSendResult | None:
        if not ready():
            return None
        r = server.order_send(request)
        return OrderSendResult(**r, request=dict(request))

    def history_deals_get(
        date_from: Any = None,
        date_to: Any = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        if not ready():
            return None
        out = []
        for d in server.deals:
            if ticket is not None and d.ticket != int(ticket):
                continue
            if position is not None and d.position_id != int(position):
                continue
            if (
                ticket is None
                and position is None
                and date_from is not None
                and not (_ts(date_from) <= d.time_msc <= _ts(date_to))
            ):
                continue
            out.append(
                TradeDeal(
                    d.ticket,
                    d.order,
                    d.time_msc // 1000,
                    d.time_msc,
                    d.type,
                    d.entry,
                    d.magic,
                    d.position_id,
                    d.reason,
                    d.volume,
                    d.price,
                    0.0,
                    0.0,
                    d.profit,
                    0.0,
                    d.symbol,
                    d.comment,
                    "",
                )
            )
        return tuple(out)

    for fn in (
        initialize,
        login,
        shutdown,
        last_error,
        account_info,
        terminal_info,
        symbol_info,
        symbol_select,
        symbol_info_tick,
        order_calc_margin,
        positions_get,
        orders_get,
        order_send,
        history_deals_get,
    ):
        setattr(mod, fn.__name__, fn)
    setattr(mod, "__version__", "5.0.45-fake")  # noqa: B010 - ModuleType declares no __version__
    return mod
