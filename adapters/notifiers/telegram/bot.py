"""The operator's Telegram bot and the Notifier that sends through it.

Commands are thin: each parses its arguments, calls the OperatorCommands port in a worker thread
(the port may wait for a running scan cycle to finish) and renders the answer. Only chats in
`allowed_chat_ids` get answers; anything else is logged and ignored. A handler that raises answers
with an error line and the bot keeps running. `/kill_switch` and `/retrain` ask for `/confirm` first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from adapters.notifiers.formatting import format_alert, format_check, format_ftmo, format_signal, format_stats
from adapters.notifiers.telegram.outbox import Outbox, Outgoing
from domain.errors import UserError
from domain.signals import Mode, Signal, Tier
from ports.operator import OperatorCommands

CONFIRM_TTL_S = 60.0
THRESHOLD_RANGE = (0.5, 1.0)

HELP = (
    "/check - status\n/stats [days] - performance (7 and 30 days)\n/ftmo_status - account vs FTMO floors\n"
    "/threshold <n> | /threshold <tier> <n> - set a confidence threshold (0.50-1.00 or 50-100)\n"
    "/kill_switch on|off - stop or resume emission (asks /confirm)\n/retrain - queue a retrain (asks /confirm)"
)


class CommandError(UserError):
    """A malformed command argument; the text is sent back to the operator."""


def parse_threshold(args: list[str]) -> tuple[Tier, float]:
    if not args or len(args) > 2:
        raise CommandError("usage: /threshold <n> or /threshold <low|medium|high> <n>, n in 0.50-1.00 or 50-100")
    tier = Tier.LOW
    if len(args) == 2:
        tier = Tier.parse(args[0])
        if tier is Tier.NONE:
            raise CommandError("tier must be low, medium or high")
    try:
        value = float(args[-1].rstrip("%"))
    except ValueError:
        raise CommandError(f"not a number: {args[-1]!r}") from None
    if value > 1.0:
        value /= 100.0
    lo, hi = THRESHOLD_RANGE
    if not lo <= value <= hi:
        raise CommandError(f"threshold {value:.2f} is outside {lo:.2f}-{hi:.2f}")
    return tier, round(value, 4)


class TelegramBot:
    """Owns the python-telegram-bot Application (polling) and the outgoing queue."""

    def __init__(
        self,
        token: str,
        allowed_chat_ids: Iterable[int],
        operator: OperatorCommands,
        *,
        mode: Mode | str = Mode.DRYRUN,
        base_url: str = "https://api.telegram.org/bot",
        log: logging.Logger | None = None,
        status_extra: Callable[[], str] | None = None,
        poll_interval_s: float = 0.0,
        poll_timeout_s: int = 10,
        first_backoff_s: float = 1.0,
    ) -> None:
        self.allowed = frozenset(int(c) for c in allowed_chat_ids)
        self.operator = operator
        self.mode = mode
        self.log = log or logging.getLogger("trading_ai")
        self.status_extra = status_extra
        self.poll_interval_s = poll_interval_s
        self.poll_timeout_s = poll_timeout_s
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().token(token).base_url(base_url).build()
        )
        self.outbox = Outbox(self._send_now, self.log, first_backoff_s=first_backoff_s)
        self.pending: dict[int, tuple[str, Callable[[], Awaitable[str]], float]] = {}
        self.commands_answered = 0
        self.command_errors = 0
        self.unauthorised = 0
        self._register()

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self.outbox.start()
        await self.app.initialize()
        await self.app.start()
        if self.app.updater is None:
            raise RuntimeError("telegram application was built without an updater")
        await self.app.updater.start_polling(
            poll_interval=self.poll_interval_s, timeout=self.poll_timeout_s, drop_pending_updates=False,
            allowed_updates=["message"],
        )
        self.log.info("telegram_started", extra={"ctx": {"allowed_chats": len(self.allowed)}})

    async def stop(self, flush_timeout_s: float = 5.0) -> None:
        await self.outbox.flush(flush_timeout_s)
        await self.outbox.stop()
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.log.info("telegram_stopped", extra={"ctx": {"sent": self.outbox.stats.sent,
                                                         "failed": self.outbox.stats.failed}})

    @property
    def healthy(self) -> bool:
        return self.outbox.healthy

    # --- outgoing -------------------------------------------------------------------------------------

    async def _send_now(self, chat_id: int, text: str) -> object:
        return await self.app.bot.send_message(chat_id=chat_id, text=text)

    def enqueue(self, text: str, kind: str, chat_id: int | None = None) -> None:
        targets = [chat_id] if chat_id is not None else sorted(self.allowed)
        for cid in targets:
            self.outbox.put(Outgoing(cid, text, kind, time.monotonic()))

    # --- incoming -------------------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.add_handler(TypeHandler(Update, self._gate), group=-1)
        table: dict[str, Callable[[Update, list[str]], Awaitable[str]]] = {
            "check": self._check,
            "stats": self._stats,
            "ftmo_status": self._ftmo,
            "threshold": self._threshold,
            "kill_switch": self._kill_switch,
            "retrain": self._retrain,
            "confirm": self._confirm,
            "cancel": self._cancel,
            "help": self._help,
            "start": self._help,
        }
        for name, fn in table.items():
            self.app.add_handler(CommandHandler(name, self._wrap(name, fn)))
        self.app.add_error_handler(self._on_error)

    async def _gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.id not in self.allowed:
            self.unauthorised += 1
            msg = update.effective_message
            self.log.warning("telegram_unauthorised", extra={"ctx": {
                "chat_id": None if chat is None else chat.id,
                "text": (msg.text or "")[:40] if msg is not None else "",
            }})
            raise ApplicationHandlerStop

    def _wrap(self, name: str, fn: Callable[[Update, list[str]], Awaitable[str]]) -> Any:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            started = time.monotonic()
            chat_id = update.effective_chat.id if update.effective_chat else 0
            ok = True
            try:
                reply = await fn(update, list(context.args or []))
            except UserError as exc:
                reply = f"error: {exc}"
            except Exception as exc:  # a broken handler answers and the bot lives on
                ok = False
                self.command_errors += 1
                self.log.exception("telegram_command_failed", extra={"ctx": {"command": name}})
                reply = f"error: /{name} failed ({type(exc).__name__}: {exc}); the bot is still running"
            self.commands_answered += 1
            self.enqueue(reply, "reply", chat_id)
            self.log.info("telegram_command", extra={"ctx": {
                "command": name, "chat_id": chat_id, "ok": ok,
                "handle_ms": round((time.monotonic() - started) * 1000, 1),
            }})

        return handler

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.log.error("telegram_error", extra={"ctx": {"error": repr(context.error)}})

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def _help(self, update: Update, args: list[str]) -> str:
        return HELP

    async def _check(self, update: Update, args: list[str]) -> str:
        report = await self._call(self.operator.check)
        extra = await self._call(self.status_extra) if self.status_extra is not None else ""
        return format_check(report, extra)

    async def _stats(self, update: Update, args: list[str]) -> str:
        if args:
            try:
                days = [int(args[0])]
            except ValueError:
                raise CommandError(f"usage: /stats [days]; not a number: {args[0]!r}") from None
            if not 1 <= days[0] <= 3650:
                raise CommandError("days must be 1-3650")
        else:
            days = [7, 30]
        parts = [format_stats(await self._call(self.operator.stats, d)) for d in days]
        return "\n\n".join(parts)

    async def _ftmo(self, update: Update, args: list[str]) -> str:
        return format_ftmo(await self._call(self.operator.ftmo_status))

    async def _threshold(self, update: Update, args: list[str]) -> str:
        tier, value = parse_threshold(args)
        thresholds = await self._call(self.operator.set_threshold, tier, value)
        self.log.warning("threshold_changed", extra={"ctx": {"tier": tier.name, "value": value, "by": "telegram"}})
        return f"{tier.name.lower()} threshold set to {value:.2f}; now " + ", ".join(
            f"{n.lower()} {v:.2f}" for n, v in thresholds
        )

    def _ask(self, update: Update, label: str, action: Callable[[], Awaitable[str]]) -> str:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        self.pending[chat_id] = (label, action, time.monotonic() + CONFIRM_TTL_S)
        return f"Confirm: {label}? Send /confirm within {CONFIRM_TTL_S:.0f}s (or /cancel)."

    async def _kill_switch(self, update: Update, args: list[str]) -> str:
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise CommandError("usage: /kill_switch on|off")
        on = args[0].lower() == "on"

        async def act() -> str:
            state = await self._call(self.operator.kill_switch, on)
            self.log.warning("kill_switch_set", extra={"ctx": {"on": state, "by": "telegram"}})
            return f"kill switch is now {'ON: nothing will be emitted' if state else 'off: emission resumes'}"

        return self._ask(update, f"turn the kill switch {'ON' if on else 'OFF'}", act)

    async def _retrain(self, update: Update, args: list[str]) -> str:
        reason = " ".join(args) or "requested from Telegram"

        async def act() -> str:
            req = await self._call(self.operator.request_retrain, reason)
            self.log.info("retrain_requested", extra={"ctx": {"request_id": req.request_id, "reason": reason}})
            return f"retrain queued: request {req.request_id}"

        return self._ask(update, "queue a retrain", act)

    async def _confirm(self, update: Update, args: list[str]) -> str:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        pending = self.pending.pop(chat_id, None)
        if pending is None:
            return "nothing to confirm"
        label, action, deadline = pending
        if time.monotonic() > deadline:
            return f"confirmation for '{label}' expired; send the command again"
        return await action()

    async def _cancel(self, update: Update, args: list[str]) -> str:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        pending = self.pending.pop(chat_id, None)
        return "cancelled" if pending else "nothing to cancel"


class TelegramNotifier:
    """Notifier port over the bot's queue: returns once queued (the queue retries until delivered)."""

    def __init__(self, bot: TelegramBot) -> None:
        self.bot = bot

    def send_signal(self, signal: Signal) -> None:
        self.bot.enqueue(format_signal(signal), "signal")

    def send_alert(self, kind: str, text: str) -> None:
        self.bot.enqueue(format_alert(kind, text, self.bot.mode), "alert")

    def send_text(self, text: str, chat_id: str | None = None) -> None:
        self.bot.enqueue(text, "text", None if chat_id is None else int(chat_id))
