"""The live dashboard: one read-only page served by the running service on 127.0.0.1.

`GET /` (the page), `GET /api/snapshot` (JSON) and `GET /api/events` (Server-Sent Events, one
snapshot every `push_interval_s`) all need the token, as `?token=` or `Authorization: Bearer`;
without it they answer 401. Nothing else is served and nothing can be changed from the web: the
routes are GET only (any other method gets 405), and the snapshot callable only reads.

The page is self-contained (no external script or font) and updates itself from the event stream,
falling back to polling `/api/snapshot` when the stream drops.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from adapters.http.dashboard_page import PAGE

HOST = "127.0.0.1"  # never configurable: the dashboard is for the operator's own machine (or an SSH tunnel)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


class DashboardServer:
    """aiohttp server on the service's event loop; `snapshot()` runs in a worker thread."""

    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        token: str,
        port: int = 0,
        *,
        push_interval_s: float = 2.0,
        log: logging.Logger | None = None,
        snapshot_timeout_s: float = 5.0,
    ) -> None:
        if not token:
            raise ValueError("the dashboard needs a token")
        self.snapshot = snapshot
        self.token = token
        self.port = port
        self.push_interval_s = push_interval_s
        self.log = log or logging.getLogger("trading_ai")
        self.snapshot_timeout_s = snapshot_timeout_s
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def _authorised(self, request: web.Request) -> bool:
        given = request.query.get("token", "")
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[7:]
        return hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET"])
        if not self._authorised(request):
            self.log.warning("dashboard_unauthorised", extra={"ctx": {"path": request.path, "remote": request.remote}})
            return web.json_response({"error": "token required"}, status=401)
        response: web.StreamResponse = await handler(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"
        )
        return response

    async def _take(self) -> dict[str, Any]:
        try:
            snap = await asyncio.wait_for(asyncio.to_thread(self.snapshot), timeout=self.snapshot_timeout_s)
            return dict(_clean(snap))
        except Exception as exc:  # the page shows the failure; the service keeps running
            self.log.exception("dashboard_snapshot_failed")
            return {"error": f"snapshot failed: {type(exc).__name__}"}

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html", charset="utf-8")

    async def _snapshot(self, request: web.Request) -> web.Response:
        return web.json_response(await self._take(), dumps=lambda o: json.dumps(o, allow_nan=False, default=str))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await resp.prepare(request)
        try:
            while True:
                data = json.dumps(await self._take(), allow_nan=False, default=str)
                await resp.write(f"event: snapshot\ndata: {data}\n\n".encode())
                await asyncio.sleep(self.push_interval_s)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    async def start(self) -> int:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/", self._index)
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/api/events", self._events)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.log.info("dashboard_listening", extra={"ctx": {"host": HOST, "port": self.port}})
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
