"""`GET /healthz`: is the service alive and scanning? JSON body, 200 when healthy, 503 otherwise.

Healthy means: a cycle finished within `stale_after_s` (default two intervals plus a minute), and
every hard dependency answered (database, broker). A Telegram or event-bus outage is reported as
`degraded` with 200: the scan loop keeps working and queues messages, so restarting would not help.

A request never calls the broker or the database: the runtime writes a snapshot after each cycle and
the endpoint answers from it. Each client (by address) is rate limited: `burst` requests at once, then
`rate_per_s`; past that, 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

from domain.errors import UserError

HARD_CHECKS = ("db", "broker")
SOFT_CHECKS = ("telegram", "event_bus")


@attrs.frozen
class HealthInputs:
    now_ms: int
    started_at_ms: int
    last_cycle_at_ms: int | None
    interval_s: float
    stale_after_s: float
    checks: Mapping[str, bool | None]  # None = not configured
    detail: Mapping[str, Any] = attrs.field(factory=dict)


def evaluate(h: HealthInputs) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for the given facts; pure so it is tested without a server."""
    reference = h.last_cycle_at_ms if h.last_cycle_at_ms is not None else h.started_at_ms
    lag_s = max(0.0, (h.now_ms - reference) / 1000.0)
    stale = lag_s > h.stale_after_s
    hard_down = [k for k in HARD_CHECKS if h.checks.get(k) is False]
    soft_down = [k for k in SOFT_CHECKS if h.checks.get(k) is False]
    if stale or hard_down:
        status, code = "stale" if stale else "unhealthy", 503
    elif soft_down:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body: dict[str, Any] = {
        "status": status,
        "last_cycle_at_ms": h.last_cycle_at_ms,
        "cycle_lag_s": round(lag_s, 3),
        "stale_after_s": h.stale_after_s,
        "interval_s": h.interval_s,
        "checks": {k: ("ok" if v else "down") if v is not None else "disabled" for k, v in h.checks.items()},
    }
    if stale:
        body["reason"] = f"no cycle for {lag_s:.0f}s (limit {h.stale_after_s:.0f}s)"
    elif hard_down:
        body["reason"] = "down: " + ", ".join(hard_down)
    body.update(h.detail)
    return code, body


class HealthPortUnavailable(UserError):
    """The health endpoint's port is out of range or taken by another process."""


def check_port(host: str, port: int) -> None:
    """Raise HealthPortUnavailable unless `port` is 0..65535 and free on `host` now (checked before the
    service builds anything, so a busy port changes nothing)."""
    hint = "set HEALTH_PORT or --health-port (0 = any free port), or pass --no-health"
    if not 0 <= port <= 65535:
        raise HealthPortUnavailable(f"health port {port} is out of range 0-65535; {hint}")
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise HealthPortUnavailable(
                f"health port {host}:{port} is not available ({exc.strerror or exc}); {hint}"
            ) from None


class RateLimiter:
    """A token bucket per client: `burst` requests at once, then `rate_per_s`; at most `max_clients`
    buckets are kept (the least recently seen is forgotten)."""

    def __init__(
        self,
        rate_per_s: float = 5.0,
        burst: int = 20,
        max_clients: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> tuple[bool, float]:
        """(allowed, seconds until the next request would be)."""
        now = self.clock()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        ok = tokens >= 1.0
        if ok:
            tokens -= 1.0
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return ok, 0.0 if ok else (1.0 - tokens) / self.rate


class HealthServer:
    """aiohttp server on the service's event loop. `probe()` reads the snapshot the cycle writes
    (composition.runtime.service.refresh_snapshot), in a worker thread; each client is rate limited."""

    def __init__(
        self,
        probe: Callable[[], HealthInputs],
        host: str = "127.0.0.1",
        port: int = 8080,
        log: logging.Logger | None = None,
        probe_timeout_s: float = 5.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.probe = probe
        self.host = host
        self.port = port
        self.log = log or logging.getLogger("trading_ai")
        self.probe_timeout_s = probe_timeout_s
        self.limiter = limiter or RateLimiter()
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        ok, wait_s = self.limiter.allow(request.remote or "?")
        if not ok:
            return web.json_response(
                {"status": "rate_limited", "retry_after_s": round(wait_s, 3)},
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
            )
        try:
            inputs = await asyncio.wait_for(asyncio.to_thread(self.probe), timeout=self.probe_timeout_s)
            code, body = evaluate(inputs)
        except Exception as exc:  # the endpoint must answer even when the probe breaks
            self.log.exception("healthz_probe_failed")
            code, body = 503, {"status": "error", "reason": f"probe failed: {type(exc).__name__}"}
        return web.json_response(body, status=code)

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/healthz", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except (OSError, OverflowError) as exc:
            await self._runner.cleanup()
            self._runner = None
            raise HealthPortUnavailable(
                f"health port {self.host}:{self.port} is not available "
                f"({getattr(exc, 'strerror', None) or exc}); set HEALTH_PORT or "
                "--health-port (0 = any free port), or pass --no-health"
            ) from None
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.log.info("healthz_listening", extra={"ctx": {"host": self.host, "port": self.port}})
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
