"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot.

It answers getMe, deleteWebhook, getUpdates (with offsets and a short long-poll), sendMessage (inline
keyboards included) and answerCallbackQuery, reading the form-encoded requests PTB sends. Tests push
updates as a chat would (commands, button presses) and read what the bot sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
from aiohttp import web

TOKEN = "123456:TEST-TOKEN"


class FakeBotApi:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.offsets: list[int] = []
        self.fail_send = 0  # answer this many sendMessage calls with HTTP 502 (an outage)
        self.answered_callbacks: list[str] = []
        self._next_update = 1
        self._next_message = 1000
        self._new = asyncio.Event()
        self._sent_event = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def push_command(self, chat_id: int, text: str) -> None:
        cmd = text.split()[0]
        self.updates.append(
            {
                "update_id": self._next_update,
                "message": {
                    "message_id": self._next_update,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "op"},
                    "text": text,
                    "entities": [{"type": "bot_command", "offset": 0, "length": len(cmd)}],
                },
            }
        )
        self._next_update += 1
        self._new.set()

    def push_button(self, chat_id: int, data: str, message_id: int = 1) -> None:
        """A press on an inline keyboard button of one of the bot's messages."""
        self.updates.append(
            {
                "update_id": self._next_update,
                "callback_query": {
                    "id": f"cb{self._next_update}",
                    "chat_instance": str(chat_id),
                    "data": data,
                    "from": {"id": chat_id, "is_bot": False, "first_name": "op"},
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"},
                        "text": "Confirm?",
                    },
                },
            }
        )
        self._next_update += 1
        self._new.set()

    async def wait_sent(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) < n:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"expected {n} sent messages, got {len(self.sent)}: {self.sent}")
            self._sent_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_event.wait(), timeout=remaining)
        return self.sent

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        return {k: v for k, v in (await request.post()).items()}

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._params(request)
        self.calls.append(method)
        if method == "getMe":
            return self._ok(
                {
                    "id": 42,
                    "is_bot": True,
                    "first_name": "trading-ai",
                    "username": "trading_ai_bot",
                    "can_join_groups": False,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                }
            )
        if method in ("deleteWebhook", "setMyCommands"):
            return self._ok(True)
        if method == "answerCallbackQuery":
            self.answered_callbacks.append(str(params["callback_query_id"]))
            return self._ok(True)
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            self.offsets.append(offset)
            timeout = min(float(params.get("timeout", 0) or 0), 0.5)
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if not pending and timeout > 0:
                self._new.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new.wait(), timeout=timeout)
                pending = [u for u in self.updates if u["update_id"] >= offset]
            return self._ok(pending)
        if method == "sendMessage":
            if self.fail_send > 0:
                self.fail_send -= 1
                return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
            chat_id = int(params["chat_id"])
            self._next_message += 1
            msg = {
                "message_id": self._next_message,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params["text"],
            }
            markup = params.get("reply_markup")
            buttons = [b for row in json.loads(markup)["inline_keyboard"] for b in row] if markup else []
            self.sent.append({"chat_id": chat_id, "text": params["text"], "buttons": buttons})
            self._sent_event.set()
            return self._ok(msg)
        return web.json_response({"ok": False, "error_code": 404, "description": f"no {method}"}, status=404)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
def fake_api_cls() -> type[FakeBotApi]:
    """The server class; tests create it inside their own event loop (asyncio.run)."""
    return FakeBotApi
