"""A fake of metaapi-cloud-sdk's RpcMetaApiConnectionInstance over FakeTradeServer.

Same coroutine names, arguments, dict shapes (camelCase, datetimes) and exceptions (the SDK's own
TradeException, NotFoundException, NotConnectedException) as the real streaming connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from metaapi_cloud_sdk.clients.error_handler import NotFoundException
from metaapi_cloud_sdk.clients.metaapi.not_connected_exception import NotConnectedException
from metaapi_cloud_sdk.clients.metaapi.trade_exception import TradeException

from tests.integration.brokers.fakes import engine as e

_STRING_CODES = {
    10004: "TRADE_RETCODE_REQUOTE",
    10006: "TRADE_RETCODE_REJECT",
    10009: "TRADE_RETCODE_DONE",
    10013: "TRADE_RETCODE_INVALID",
    10014: "TRADE_RETCODE_INVALID_VOLUME",
    10016: "TRADE_RETCODE_INVALID_STOPS",
    10017: "TRADE_RETCODE_TRADE_DISABLED",
    10018: "TRADE_RETCODE_MARKET_CLOSED",
    10019: "TRADE_RETCODE_NO_MONEY",
    10021: "TRADE_RETCODE_PRICE_OFF",
    10031: "TRADE_RETCODE_CONNECTION",
    10036: "TRADE_RETCODE_POSITION_CLOSED",
}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class FakeRpcConnection:
    def __init__(self, server: e.FakeTradeServer, account: Any = None) -> None:
        self.server = server
        self.account = account
        self.connected = False
        self.synchronized = False
        self.calls: list[str] = []

    def _ready(self, name: str) -> None:
        self.calls.append(name)
        if not (self.connected and self.server.connected):
            raise NotConnectedException("MetaApi connection is not established")

    async def connect(self) -> None:
        self.connected = True

    async def wait_synchronized(self, timeout_in_seconds: float = 300) -> None:
        self.synchronized = True

    async def close(self) -> None:
        self.connected = False

    async def get_account_information(self) -> dict[str, Any]:
        self._ready("get_account_information")
        s = self.server
        eq = round(s.balance + s.floating(), 2)
        return {
            "platform": "mt5",
            "broker": "FTMO S.R.O.",
            "currency": s.currency,
            "server": s.server,
            "balance": s.balance,
            "equity": eq,
            "margin": round(s.margin(), 2),
            "freeMargin": eq - s.margin(),
            "leverage": s.leverage,
            "login": s.login,
            "type": "ACCOUNT_TRADE_MODE_DEMO",
        }

    async def get_positions(self) -> list[dict[str, Any]]:
        self._ready("get_positions")
        out = []
        for p in sorted(self.server.positions.values(), key=lambda p: p.ticket):
            out.append(
                {
                    "id": str(p.ticket),
                    "type": "POSITION_TYPE_BUY" if p.type == 0 else "POSITION_TYPE_SELL",
                    "symbol": p.symbol,
                    "magic": p.magic,
                    "time": _dt(p.time_msc),
                    "openPrice": p.price_open,
                    "volume": p.volume,
                    "stopLoss": p.sl or None,
                    "takeProfit": p.tp or None,
                    "clientId": p.comment or None,
                }
            )
        return out

    async def _trade(self, req: dict[str, Any]) -> dict[str, Any]:
        r = self.server.order_send(req)
        code = _STRING_CODES.get(r["retcode"], f"TRADE_RETCODE_{r['retcode']}")
        if r["retcode"] != e.RC_DONE:
            raise TradeException(r["comment"], r["retcode"], code)
        return {
            "numericCode": r["retcode"],
            "stringCode": code,
            "message": "Request completed",
            "orderId": str(r["order"]),
            "positionId": str(req.get("position") or r["order"]),
        }

    async def _market(
        self,
        typ: int,
        symbol: str,
        volume: float,
        stop_loss: float | None,
        take_profit: float | None,
        options: dict[str, Any] | None,
    ) -> dict[str, Any]:
        self._ready("create_market_order")
        if symbol not in self.server.symbols:
            raise TradeException("Unknown symbol", 10013, "TRADE_RETCODE_INVALID")
        return await self._trade(
            {
                "action": e.TRADE_ACTION_DEAL,
                "symbol": symbol,
                "volume": volume,
                "type": typ,
                "sl": stop_loss or 0.0,
                "tp": take_profit or 0.0,
                "comment": (options or {}).get("clientId", ""),
            }
        )

    async def create_market_buy_order(
        self,
        symbol: str,
        volume: float,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._market(e.ORDER_TYPE_BUY, symbol, volume, stop_loss, take_profit, options)

    async def create_market_sell_order(
        self,
        symbol: str,
        volume: float,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._market(e.ORDER_TYPE_SELL, symbol, volume, stop_loss, take_profit, options)

    async def close_position(self, position_id: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ready("close_position")
        pos = self.server.positions.get(int(position_id))
        if pos is None:
            raise TradeException("Position not found", 10036, "TRADE_RETCODE_POSITION_CLOSED")
        return await self._trade(
            {
                "action": e.TRADE_ACTION_DEAL,
                "symbol": pos.symbol,
                "volume": pos.volume,
                "type": 1 - pos.type,
                "position": pos.ticket,
            }
        )

    async def modify_position(
        self,
        position_id: str,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        trailing_stop_loss: Any = None,
        stop_price_base: Any = None,
    ) -> dict[str, Any]:
        self._ready("modify_position")
        pos = self.server.positions.get(int(position_id))
        if pos is None:
            raise TradeException("Position not found", 10036, "TRADE_RETCODE_POSITION_CLOSED")
        return await self._trade(
            {
                "action": e.TRADE_ACTION_SLTP,
                "symbol": pos.symbol,
                "position": pos.ticket,
                "sl": pos.sl if stop_loss is None else stop_loss,
                "tp": take_profit or 0.0,
            }
        )

    async def get_symbol_specification(self, symbol: str) -> dict[str, Any]:
        self._ready("get_symbol_specification")
        s = self.server.symbols.get(symbol)
        if s is None:
            raise NotFoundException(f"Specification for symbol {symbol} not found")
        return {
            "symbol": s.name,
            "tickSize": 10.0**-s.digits,
            "minVolume": s.volume_min,
            "maxVolume": s.volume_max,
            "volumeStep": s.volume_step,
            "contractSize": s.contract_size,
            "digits": s.digits,
            "tradeMode": "SYMBOL_TRADE_MODE_FULL",
        }

    async def calculate_margin(self, order: dict[str, Any]) -> dict[str, Any]:
        self._ready("calculate_margin")
        s = self.server.symbols.get(order["symbol"])
        if s is None:
            raise NotFoundException(f"Symbol {order['symbol']} not found")
        return {"margin": round(order["openPrice"] * order["volume"] * s.contract_size / self.server.leverage, 2)}

    async def get_symbol_price(self, symbol: str, keep_subscription: bool = False) -> dict[str, Any]:
        self._ready("get_symbol_price")
        s = self.server.symbols.get(symbol)
        if s is None:
            raise NotFoundException(f"Symbol {symbol} not found")
        return {
            "symbol": s.name,
            "bid": s.bid,
            "ask": s.ask,
            "time": _dt(s.time_msc),
            "brokerTime": _dt(s.time_msc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        }

    def _deal(self, d: e.FakeDeal) -> dict[str, Any]:
        return {
            "id": str(d.ticket),
            "type": "DEAL_TYPE_BUY" if d.type == 0 else "DEAL_TYPE_SELL",
            "entryType": "DEAL_ENTRY_IN" if d.entry == e.DEAL_ENTRY_IN else "DEAL_ENTRY_OUT",
            "symbol": d.symbol,
            "magic": d.magic,
            "time": _dt(d.time_msc),
            "volume": d.volume,
            "price": d.price,
            "positionId": str(d.position_id),
            "orderId": str(d.order),
            "profit": d.profit,
            "clientId": d.comment if d.entry == e.DEAL_ENTRY_IN and d.comment else None,
        }

    async def get_deals_by_time_range(
        self, start_time: datetime, end_time: datetime, offset: int = 0, limit: int = 1000
    ) -> dict[str, Any]:
        self._ready("get_deals_by_time_range")
        lo, hi = int(start_time.timestamp() * 1000), int(end_time.timestamp() * 1000)
        found = [self._deal(d) for d in self.server.deals if lo <= d.time_msc <= hi]
        return {"deals": found[offset : offset + limit], "synchronizing": False}

    async def get_deals_by_position(self, position_id: str) -> dict[str, Any]:
        self._ready("get_deals_by_position")
        return {
            "deals": [self._deal(d) for d in self.server.deals if str(d.position_id) == str(position_id)],
            "synchronizing": False,
        }
