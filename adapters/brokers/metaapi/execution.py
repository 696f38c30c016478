"""MetaApiBroker: the Broker port over metaapi-cloud-sdk.

Two halves, as in the SDK: the account lookup and deployment go over MetaAPI's REST provisioning
API (the SDK's httpx client), trading goes over its streaming RPC connection (socket.io). The SDK
is async; this adapter owns one event loop on a background thread and runs each call on it, so the
sync Broker port can be used from anywhere. The RPC connection factory is injectable: production
uses `account.get_rpc_connection()`, tests pass a fake of that connection.

Client order ids travel as MetaAPI's `clientId` (26 characters at most; longer ids are hashed by
`order_tag`); before sending, the adapter looks for a position or entry deal with the same id, so a
retried order is never placed twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from adapters.brokers.ids import order_tag
from adapters.brokers.metaapi.config import CLIENT_ID_MAX, MetaApiConfig
from adapters.brokers.metaapi.errors import map_sdk_error, trade_error
from adapters.brokers.symbols import broker_symbol, pair_of
from domain.errors import ConfigError
from domain.signals import Direction
from domain.trading import DEFAULT_MARGIN_RATE, AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.errors import BrokerDisconnected, BrokerError, UnknownPosition, UnknownSymbol

log = logging.getLogger(__name__)

T = TypeVar("T")
_HISTORY_START = datetime(2000, 1, 1, tzinfo=UTC)
_DONE = frozenset({"TRADE_RETCODE_DONE", "TRADE_RETCODE_DONE_PARTIAL", "TRADE_RETCODE_PLACED"})


def _ms(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


class MetaApiBroker:
    def __init__(
        self,
        config: MetaApiConfig,
        initial_balance: float | None = None,
        connection_factory: Callable[[Any], Any] | None = None,
        api_factory: Callable[[MetaApiConfig], Any] | None = None,
    ) -> None:
        if not config.token or not config.account_id:
            raise ConfigError("BROKER=metaapi needs METAAPI_TOKEN and METAAPI_ACCOUNT_ID")
        self._cfg = config
        self._initial_balance = initial_balance
        self._connection_factory = connection_factory or (lambda account: account.get_rpc_connection())
        self._api_factory = api_factory or _sdk_api
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="metaapi-loop", daemon=True)
        self._thread.start()
        self._api: Any = None
        self._conn: Any = None
        self.account_info: dict[str, Any] = {}
        self._ids: dict[str, str] = {}
        self._requested: dict[str, tuple[float, float]] = {}  # position id -> (requested price, latency ms)
        self._margin_rates: dict[str, float] = {}  # broker symbol -> margin per unit of notional

    # --- lifecycle ----------------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=self._cfg.request_timeout_s + self._cfg.deploy_timeout_s)
        except (ConfigError, UnknownSymbol, UnknownPosition, BrokerDisconnected):
            raise
        except Exception as exc:
            raise map_sdk_error(exc, what) from exc

    def connect(self) -> None:
        self._run(self._connect(), "connect")

    async def _connect(self) -> None:
        self._api = self._api_factory(self._cfg)
        try:
            account = await self._api.metatrader_account_api.get_account(self._cfg.account_id)
        except Exception as exc:
            if type(exc).__name__ == "NotFoundException":
                raise ConfigError(f"METAAPI_ACCOUNT_ID={self._cfg.account_id!r}: no such MetaAPI account") from None
            raise
        if account.state != "DEPLOYED":
            await account.deploy()
            await account.wait_deployed(
                timeout_in_seconds=self._cfg.deploy_timeout_s, interval_in_milliseconds=self._cfg.deploy_poll_ms
            )
        self.account_info = {
            "id": account.id,
            "state": account.state,
            "region": account.region,
            "connection_status": account.connection_status,
        }
        conn = self._connection_factory(account)
        await conn.connect()
        await conn.wait_synchronized(self._cfg.sync_timeout_s)
        self._conn = conn

    def close(self) -> None:
        if not self._thread.is_alive() or not self._loop.is_running():
            return

        async def _close() -> None:
            if self._conn is not None:
                await self._conn.close()
            if self._api is not None and hasattr(self._api, "close"):
                self._api.close()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def _c(self) -> Any:
        if self._conn is None:
            self.connect()
        return self._conn

    # --- Broker port -------------------------------------------------------------------------------

    def account(self) -> AccountState:
        info = self._run(self._c().get_account_information(), "account")
        return AccountState(
            balance=float(info["balance"]),
            equity=float(info["equity"]),
            margin=float(info.get("margin", 0.0)),
            currency=str(info["currency"]),
            initial_balance=self._initial_balance or float(info["balance"]),
        )

    def positions(self) -> list[Position]:
        raw = self._run(self._c().get_positions(), "positions")
        found = [p for p in (self._position(d) for d in raw) if p is not None]
        return sorted(found, key=lambda p: (p.opened_at_ms, p.position_id))

    def place_order(self, req: OrderRequest) -> Fill:
        tag = order_tag(req.client_order_id, CLIENT_ID_MAX)
        self._ids[tag] = req.client_order_id
        existing = self._existing_fill(tag, req)
        if existing is not None:
            return existing
        sym = self.symbol_info(req.pair).broker_symbol
        bid, ask = self.quote(req.pair)
        requested = req.entry_hint if req.entry_hint is not None else (ask if req.direction is Direction.LONG else bid)
        create = (
            self._c().create_market_buy_order if req.direction is Direction.LONG else self._c().create_market_sell_order
        )
        started = time.perf_counter()
        resp = self._run(create(sym, req.volume, req.sl, req.tp, {"clientId": tag}), f"order {req.client_order_id}")
        latency = (time.perf_counter() - started) * 1000
        self._check(resp, f"order {req.client_order_id}")
        pid = str(resp["positionId"])
        self._requested[pid] = (requested, latency)
        return self._fill_of_entry(self._entry_deal(pid), req)

    def close_position(self, position_id: str) -> Fill:
        pos = next((p for p in self.positions() if p.position_id == position_id), None)
        if pos is None:
            raise UnknownPosition(f"no open position {position_id}")
        bid, ask = self.quote(pos.pair)
        requested = bid if pos.direction is Direction.LONG else ask
        started = time.perf_counter()
        resp = self._run(self._c().close_position(position_id, {}), f"close {position_id}")
        latency = (time.perf_counter() - started) * 1000
        self._check(resp, f"close {position_id}")
        deals = self._run(self._c().get_deals_by_position(position_id), "deals")["deals"]
        out = [d for d in deals if d.get("entryType") == "DEAL_ENTRY_OUT"][-1]
        return Fill(
            client_order_id=pos.client_order_id,
            pair=pos.pair,
            requested_price=requested,
            fill_price=float(out["price"]),
            volume=float(out["volume"]),
            at_ms=_ms(out["time"]),
            latency_ms=latency,
            position_id=position_id,
            direction=pos.direction.opposite,
        )

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        if not any(p.position_id == position_id for p in self.positions()):
            raise UnknownPosition(f"no open position {position_id}")
        resp = self._run(self._c().modify_position(position_id, sl, tp), f"modify {position_id}")
        self._check(resp, f"modify {position_id}")

    def symbol_info(self, pair: str) -> SymbolSpec:
        sym = broker_symbol(pair, self._cfg.symbol_map)
        try:
            spec = self._run(self._c().get_symbol_specification(sym), f"symbol {sym}")
        except UnknownPosition:  # NotFoundException on a symbol
            raise UnknownSymbol(f"MetaAPI account has no symbol {sym!r}") from None
        cs = float(spec["contractSize"])
        return SymbolSpec(
            pair=pair,
            broker_symbol=sym,
            contract_size=cs,
            min_lot=float(spec["minVolume"]),
            lot_step=float(spec["volumeStep"]),
            digits=int(spec["digits"]),
            max_lot=float(spec["maxVolume"]),
            margin_rate=self._margin_rate(sym, cs),
        )

    def _margin_rate(self, sym: str, contract_size: float) -> float:
        """Margin per unit of notional from the terminal's calculation (`calculate_margin` for one lot at
        the ask), cached per symbol; DEFAULT_MARGIN_RATE (no leverage) when it cannot be calculated."""
        rate = self._margin_rates.get(sym)
        if rate is not None:
            return rate
        rate = DEFAULT_MARGIN_RATE
        try:
            ask = float(self._run(self._c().get_symbol_price(sym), f"price {sym}")["ask"])
            order = {"symbol": sym, "type": "ORDER_TYPE_BUY", "volume": 1.0, "openPrice": ask}
            answer = self._run(self._c().calculate_margin(order), f"margin {sym}")
            margin = answer.get("margin") if isinstance(answer, dict) else answer
            if margin is not None and float(margin) > 0 and ask > 0:
                rate = min(float(margin) / (ask * contract_size), 10.0)
        except (BrokerError, AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("MetaAPI margin for %s unavailable (%s); sizing assumes margin rate %s", sym, exc, rate)
        self._margin_rates[sym] = rate
        return rate

    def quote(self, pair: str) -> tuple[float, float]:
        sym = broker_symbol(pair, self._cfg.symbol_map)
        try:
            price = self._run(self._c().get_symbol_price(sym), f"price {sym}")
        except UnknownPosition:
            raise UnknownSymbol(f"MetaAPI account has no symbol {sym!r}") from None
        return float(price["bid"]), float(price["ask"])

    def fills(self, since_ms: int = 0) -> list[Fill]:
        start = max(_HISTORY_START, datetime.fromtimestamp(since_ms / 1000, tz=UTC))
        end = datetime.fromtimestamp(time.time() + 86_400, tz=UTC)
        deals = self._all_deals(start, end)
        entries = {str(d["positionId"]): d for d in deals if d.get("entryType") == "DEAL_ENTRY_IN"}
        out: list[Fill] = []
        for d in sorted(deals, key=lambda d: (_ms(d["time"]), str(d["id"]))):
            pair = pair_of(str(d.get("symbol", "")), self._cfg.symbol_map)
            if pair is None or d.get("type") not in ("DEAL_TYPE_BUY", "DEAL_TYPE_SELL") or _ms(d["time"]) < since_ms:
                continue
            pid = str(d["positionId"])
            entry = entries.get(pid)
            if entry is None:
                older = self._run(self._c().get_deals_by_position(pid), "deals")["deals"]
                entry = next((x for x in older if x.get("entryType") == "DEAL_ENTRY_IN"), d)
            tag = str(entry.get("clientId") or "")
            is_entry = d.get("entryType") == "DEAL_ENTRY_IN"
            requested, latency = (
                self._requested.get(pid, (float(d["price"]), 0.0)) if is_entry else (float(d["price"]), 0.0)
            )
            out.append(
                Fill(
                    client_order_id=self._ids.get(tag, tag),
                    pair=pair,
                    requested_price=requested,
                    fill_price=float(d["price"]),
                    volume=float(d["volume"]),
                    at_ms=_ms(d["time"]),
                    latency_ms=latency,
                    position_id=pid,
                    direction=Direction.LONG if d["type"] == "DEAL_TYPE_BUY" else Direction.SHORT,
                )
            )
        return out

    # --- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _check(resp: dict[str, Any], what: str) -> None:
        code = str(resp.get("stringCode", ""))
        if code not in _DONE:
            raise trade_error(code, resp.get("numericCode"), str(resp.get("message", "")), what)

    def _all_deals(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        deals: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._run(self._c().get_deals_by_time_range(start, end, offset, 1000), "deals")["deals"]
            deals.extend(page)
            if len(page) < 1000:
                return deals
            offset += len(page)

    def _entry_deal(self, position_id: str) -> dict[str, Any]:
        deals: list[dict[str, Any]] = self._run(self._c().get_deals_by_position(position_id), "deals")["deals"]
        entry = next((d for d in deals if d.get("entryType") == "DEAL_ENTRY_IN"), None)
        if entry is None:
            raise BrokerDisconnected(f"MetaAPI has not synchronised the entry deal of position {position_id} yet")
        return entry

    def _position(self, d: dict[str, Any]) -> Position | None:
        pair = pair_of(str(d["symbol"]), self._cfg.symbol_map)
        if pair is None:
            return None
        tag = str(d.get("clientId") or "")
        return Position(
            position_id=str(d["id"]),
            pair=pair,
            direction=Direction.LONG if d["type"] == "POSITION_TYPE_BUY" else Direction.SHORT,
            volume=float(d["volume"]),
            entry=float(d["openPrice"]),
            sl=float(d.get("stopLoss") or 0.0),
            tp=float(d["takeProfit"]) if d.get("takeProfit") else None,
            opened_at_ms=_ms(d["time"]),
            client_order_id=self._ids.get(tag, tag),
        )

    def _existing_fill(self, tag: str, req: OrderRequest) -> Fill | None:
        for p in self._run(self._c().get_positions(), "positions"):
            if p.get("clientId") == tag:
                return self._fill_of_entry(self._entry_deal(str(p["id"])), req)
        now = datetime.fromtimestamp(time.time() + 86_400, tz=UTC)
        for d in self._all_deals(_HISTORY_START, now):
            if d.get("entryType") == "DEAL_ENTRY_IN" and d.get("clientId") == tag:
                return self._fill_of_entry(d, req)
        return None

    def _fill_of_entry(self, d: dict[str, Any], req: OrderRequest) -> Fill:
        pid = str(d["positionId"])
        requested, latency = self._requested.get(pid, (float(d["price"]), 0.0))
        return Fill(
            client_order_id=req.client_order_id,
            pair=req.pair,
            requested_price=requested,
            fill_price=float(d["price"]),
            volume=float(d["volume"]),
            at_ms=_ms(d["time"]),
            latency_ms=latency,
            position_id=pid,
            direction=req.direction,
        )


def _sdk_api(cfg: MetaApiConfig) -> Any:
    from metaapi_cloud_sdk import MetaApi  # heavy import, only when this broker is chosen

    opts: dict[str, Any] = {
        "domain": cfg.domain,
        "requestTimeout": cfg.request_timeout_s,
        "retryOpts": {"retries": 2, "minDelayInSeconds": 0.1, "maxDelayInSeconds": 2},
    }
    if cfg.region:
        opts["region"] = cfg.region
    return MetaApi(cfg.token, opts)
