"""The REST shim server: runs on the Windows machine beside the MT5 terminal.

It exposes the Broker operations over HTTP with a bearer token. The server reaches MT5 through a
terminal: any object with the Broker port's methods (in production `Mt5Broker` over the real
MetaTrader5 package; in tests a fake), so the real server runs in tests with a fake terminal.
Terminal calls run one at a time on a single worker thread: the MetaTrader5 package is neither
thread-safe nor async, and one-at-a-time also serialises retried orders with the same client id.

Start it on Windows:  `set SHIM_TOKEN=<long random>` then
`python -m adapters.brokers.rest_shim.server --host 127.0.0.1 --port 8765`
(bind to the VM's private address only when the Linux side cannot reach it otherwise; keep the
port behind a firewall or an SSH/WireGuard tunnel: the token is the only authentication).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import os
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from adapters.brokers import records
from adapters.brokers.rest_shim import wire
from ports.broker import Broker

Terminal = Broker  # the interface the server drives: the Broker port's operations

log = logging.getLogger("trading_ai.shim")
_TERMINAL = web.AppKey("terminal", object)
_EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
_TOKEN = web.AppKey("token", str)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def _auth_and_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path != f"{wire.API}/health":
        header = request.headers.get("Authorization", "")
        given = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), request.app[_TOKEN].encode()):
            return _error(401, "unauthorized", "missing or wrong bearer token")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        return _error(400, "bad_request", f"invalid request: {exc}")
    except Exception as exc:
        code = wire.code_of(exc)
        if code is None:
            log.exception("terminal call failed")
            return _error(500, "internal", f"{type(exc).__name__}: {exc}")
        return _error(wire.ERRORS[code][0], code, str(exc))


async def _run(request: web.Request, fn: Callable[..., Any], *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[_EXECUTOR], fn, *args)


def _terminal(request: web.Request) -> Any:
    return request.app[_TERMINAL]


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def account(request: web.Request) -> web.Response:
    return web.json_response(wire.account_to(await _run(request, _terminal(request).account)))


async def positions(request: web.Request) -> web.Response:
    found = await _run(request, _terminal(request).positions)
    return web.json_response([records.position_to(p) for p in found])


async def place_order(request: web.Request) -> web.Response:
    req = wire.order_from(await request.json())
    fill = await _run(request, _terminal(request).place_order, req)
    return web.json_response(records.fill_to(fill))


async def close_position(request: web.Request) -> web.Response:
    fill = await _run(request, _terminal(request).close_position, request.match_info["position_id"])
    return web.json_response(records.fill_to(fill))


async def modify_position(request: web.Request) -> web.Response:
    body = await request.json()
    sl = None if body.get("sl") is None else float(body["sl"])
    tp = None if body.get("tp") is None else float(body["tp"])
    await _run(request, _terminal(request).modify_position, request.match_info["position_id"], sl, tp)
    return web.json_response({"ok": True})


async def symbol_info(request: web.Request) -> web.Response:
    spec = await _run(request, _terminal(request).symbol_info, request.query["pair"])
    return web.json_response(wire.spec_to(spec))


async def quote(request: web.Request) -> web.Response:
    bid, ask = await _run(request, _terminal(request).quote, request.query["pair"])
    return web.json_response({"bid": bid, "ask": ask})


async def fills(request: web.Request) -> web.Response:
    since = int(request.query.get("since_ms", "0"))
    found = await _run(request, _terminal(request).fills, since)
    return web.json_response([records.fill_to(f) for f in found])


def make_app(terminal: Terminal, token: str) -> web.Application:
    if len(token) < 16:
        raise ValueError("the shim needs a bearer token of at least 16 characters (SHIM_TOKEN)")
    app = web.Application(middlewares=[_auth_and_errors])
    app[_TERMINAL] = terminal
    app[_TOKEN] = token
    app[_EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5-terminal")
    a = wire.API
    app.add_routes(
        [
            web.get(f"{a}/health", health),
            web.get(f"{a}/account", account),
            web.get(f"{a}/positions", positions),
            web.post(f"{a}/orders", place_order),
            web.post(f"{a}/positions/{{position_id}}/close", close_position),
            web.post(f"{a}/positions/{{position_id}}/modify", modify_position),
            web.get(f"{a}/symbol", symbol_info),
            web.get(f"{a}/quote", quote),
            web.get(f"{a}/fills", fills),
        ]
    )

    async def _shutdown_executor(app: web.Application) -> None:
        app[_EXECUTOR].shutdown(wait=True)

    app.on_cleanup.append(_shutdown_executor)
    return app


def start_shim_server(
    terminal: Terminal, token: str | None = None, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, str, Callable[[], None]]:
    """Run the server on a background thread (tests, local tools): returns (url, token, stop)."""
    token = token or secrets.token_urlsafe(24)
    app = make_app(terminal, token)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def _start() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        box["runner"] = runner
        box["port"] = runner.addresses[0][1]

    def _serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_start())
        except BaseException as exc:  # surfaced to the caller below
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(box["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=_serve, name="shim-server", daemon=True)
    thread.start()
    started.wait(timeout=10)
    if "error" in box:
        raise box["error"]

    def stop() -> None:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return f"http://{host}:{box['port']}", token, stop


def _mt5_terminal_from_env() -> Terminal:
    from adapters.brokers.mt5.config import Mt5Config
    from adapters.brokers.mt5.execution import Mt5Broker
    from adapters.brokers.mt5.factories import load_mt5_module

    login = os.environ.get("MT5_LOGIN", "")
    cfg = Mt5Config(
        login=int(login) if login.isdigit() else 0,
        password=os.environ.get("MT5_PASSWORD", ""),
        server=os.environ.get("MT5_SERVER", ""),
        path=os.environ.get("MT5_PATH") or None,
    )
    broker = Mt5Broker(load_mt5_module(), cfg)
    broker.connect()
    return broker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.brokers.rest_shim.server",
        description="REST shim beside the MT5 terminal (token from SHIM_TOKEN)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    token = os.environ.get("SHIM_TOKEN", "")
    if len(token) < 16:
        print("error: set SHIM_TOKEN to a random string of at least 16 characters", file=sys.stderr)
        return 2
    from domain.errors import UserError

    try:
        terminal = _mt5_terminal_from_env()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("shim listening on %s:%s", args.host, args.port)
    web.run_app(make_app(terminal, token), host=args.host, port=args.port, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
