"""ShimBroker: the Linux-side Broker adapter talking to the REST shim over HTTP (httpx).

Retries: only idempotent calls are retried on a transport error or a 502/503/504 answer: reads,
order placement (the terminal dedupes on the client order id, so a retried order whose first
answer was lost returns the original fill) and stop changes (setting the same stops twice is the
same state). Closing a position is sent once: its retry could not tell "closed by my first
request" from "never existed".
"""

from __future__ import annotations

import time
from typing import Any

import attrs
import httpx

from adapters.brokers import records
from adapters.brokers.rest_shim import wire
from adapters.brokers.rest_shim.config import ShimClientConfig
from domain.errors import ConfigError
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.errors import BrokerDisconnected, BrokerError

_RETRY_STATUS = frozenset({502, 503, 504})


class ShimAuthError(ConfigError):
    """The shim refused the token."""


class ShimBroker:
    def __init__(self, config: ShimClientConfig, transport: httpx.BaseTransport | None = None) -> None:
        if not config.token:
            raise ConfigError("SHIM_TOKEN is empty: set it to the token the shim server was started with")
        self._cfg = config
        self._http = httpx.Client(
            base_url=config.url.rstrip("/") + wire.API,
            timeout=config.timeout_s,
            headers={"Authorization": f"Bearer {config.token}"},
            transport=transport,
        )
        self.requests_sent = 0
        self._placed: dict[str, Fill] = {}  # client order id -> fill as first returned (latency included)

    def close(self) -> None:
        self._http.close()

    # --- Broker port -------------------------------------------------------------------------------

    def account(self) -> AccountState:
        return wire.account_from(self._call("GET", "/account"))

    def positions(self) -> list[Position]:
        return [records.position_from(d) for d in self._call("GET", "/positions")]

    def place_order(self, req: OrderRequest) -> Fill:
        if req.client_order_id in self._placed:
            return self._placed[req.client_order_id]
        started = time.perf_counter()
        fill = records.fill_from(self._call("POST", "/orders", json=wire.order_to(req)))
        if fill.client_order_id != req.client_order_id:
            raise BrokerError(f"shim answered order {req.client_order_id} with {fill.client_order_id}")
        # Latency as the runtime sees it: request out to fill back, HTTP and terminal included.
        rtt = (time.perf_counter() - started) * 1000
        fill = attrs.evolve(fill, latency_ms=max(rtt, fill.latency_ms))
        self._placed[req.client_order_id] = fill
        return fill

    def close_position(self, position_id: str) -> Fill:
        return records.fill_from(self._call("POST", f"/positions/{position_id}/close", idempotent=False))

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        self._call("POST", f"/positions/{position_id}/modify", json={"sl": sl, "tp": tp})

    def symbol_info(self, pair: str) -> SymbolSpec:
        return wire.spec_from(self._call("GET", "/symbol", params={"pair": pair}))

    def quote(self, pair: str) -> tuple[float, float]:
        d = self._call("GET", "/quote", params={"pair": pair})
        return float(d["bid"]), float(d["ask"])

    def fills(self, since_ms: int = 0) -> list[Fill]:
        return [records.fill_from(d) for d in self._call("GET", "/fills", params={"since_ms": since_ms})]

    # --- transport ----------------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, idempotent: bool = True
    ) -> Any:
        attempts = 1 + (self._cfg.retries if idempotent else 0)
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self._cfg.backoff_s * 2 ** (attempt - 1))
            try:
                self.requests_sent += 1
                resp = self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                last = BrokerDisconnected(f"shim at {self._cfg.url} unreachable: {type(exc).__name__}: {exc}")
                continue
            if resp.status_code in _RETRY_STATUS and attempt + 1 < attempts:
                last = self._error(resp)
                continue
            if resp.is_success:
                return resp.json()
            raise self._error(resp)
        raise last or BrokerDisconnected(f"shim at {self._cfg.url}: no attempt made")

    def _error(self, resp: httpx.Response) -> Exception:
        try:
            body = resp.json()
            code, message = str(body.get("error", "")), str(body.get("message", ""))
        except ValueError:
            code, message = "", resp.text[:200]
        if resp.status_code in (401, 403):
            return ShimAuthError(
                f"the shim at {self._cfg.url} refused the token (HTTP {resp.status_code}); "
                "SHIM_TOKEN must equal the server's token"
            )
        if code in wire.ERRORS:
            return wire.ERRORS[code][1](message)
        if resp.status_code in _RETRY_STATUS:
            return BrokerDisconnected(f"shim answered HTTP {resp.status_code}: {message}")
        return BrokerError(f"shim answered HTTP {resp.status_code} {code}: {message}")
