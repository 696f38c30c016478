"""A fake Binance spot REST server on 127.0.0.1 serving REAL candles (from ../shared/data).

Implements what ccxt's binance class calls for spot OHLCV: `GET /api/v3/exchangeInfo` and
`GET /api/v3/klines` honouring symbol, interval, startTime, endTime and limit (default 500, max
1000), with Binance's row layout. The server has its own "now": bars opening after it do not
exist yet and the bar containing it is served as still forming (as the real API does).
Faults can be queued: an HTTP status (429 with Binance's -1003 body, 418, 503) or a delay that
makes the client time out. Every request is logged so tests can assert what ccxt called.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from domain.market import Candles

INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000}


class FakeBinance:
    def __init__(self, candles: dict[tuple[str, str], Candles], now_ms: int) -> None:
        self.candles = candles  # keyed by (exchange id like "BTCUSDT", interval)
        self.now_ms = now_ms
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.faults: deque[tuple[str, float]] = deque()  # ("status", code) or ("delay", seconds)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -------------------------------------------------------------- control
    def fail_next(self, status: int, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(("status", float(status)))

    def pass_next(self, times: int = 1) -> None:
        """Let the next `times` requests through untouched (to place a later fault)."""
        for _ in range(times):
            self.faults.append(("ok", 0.0))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(("delay", seconds))

    def kline_requests(self) -> list[dict[str, str]]:
        return [q for p, q in self.requests if p.endswith("/klines")]

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server: (host, port)
        return f"http://{host}:{port}/api/v3"

    # -------------------------------------------------------------- responses
    def exchange_info(self) -> dict[str, Any]:
        symbols = sorted({sym for sym, _ in self.candles})
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms,
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [
                {
                    "symbol": sym,
                    "status": "TRADING",
                    "baseAsset": sym[:-4],
                    "baseAssetPrecision": 8,
                    "quoteAsset": sym[-4:],
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "permissions": ["SPOT"],
                    "permissionSets": [["SPOT"]],
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": "0.01",
                            "maxPrice": "1000000.00",
                            "tickSize": "0.01",
                        },
                        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
                    ],
                }
                for sym in symbols
            ],
        }

    def klines(self, q: dict[str, str]) -> tuple[int, Any]:
        sym, interval = q.get("symbol", ""), q.get("interval", "")
        if interval not in INTERVAL_MS:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        c = self.candles.get((sym, interval))
        if c is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = min(int(q.get("limit", 500)), 1000)
        ms = INTERVAL_MS[interval]
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
        ts = c.ts
        sel = ts <= self.now_ms  # the bar containing now is "forming"; later bars do not exist
        if start is not None:
            sel &= ts >= start
        if end is not None:
            sel &= ts <= end
        idx = np.flatnonzero(sel)
        idx = idx[:limit] if start is not None or end is None else idx[-limit:]
        rows = []
        for i in idx.tolist():
            t = int(ts[i])
            forming = t + ms > self.now_ms
            close = c.open[i] if forming else c.close[i]  # a forming bar has not reached its close
            rows.append(
                [
                    t,
                    f"{c.open[i]:.8f}",
                    f"{c.high[i]:.8f}",
                    f"{c.low[i]:.8f}",
                    f"{close:.8f}",
                    f"{c.volume[i] * (0.5 if forming else 1.0):.8f}",
                    t + ms - 1,
                    "0",
                    0,
                    "0",
                    "0",
                    "0",
                ]
            )
        return 200, rows

    # -------------------------------------------------------------- server
    def handle(self, path: str, query: dict[str, str]) -> tuple[int, Any, float]:
        with self._lock:
            self.requests.append((path, query))
            fault = self.faults.popleft() if self.faults else None
        delay = 0.0
        if fault is not None:
            kind, value = fault
            if kind == "status":
                code = int(value)
                body = {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}
                return code, body, 0.0
            if kind == "delay":
                delay = value
        if path == "/api/v3/exchangeInfo":
            return 200, self.exchange_info(), delay
        if path == "/api/v3/klines":
            code, body = self.klines(query)
            return code, body, delay
        return 404, {"code": -1, "msg": f"fake Binance has no {path}"}, delay

    @contextmanager
    def running(self) -> Iterator[FakeBinance]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                code, body, delay = fake.handle(parsed.path, query)
                if delay:
                    time.sleep(delay)
                data = json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and went away, as intended

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            self._server = None
