"""The operator's Telegram bot and the Notifier that sends through it.

Commands are thin: each parses its arguments, calls the OperatorCommands port in a worker thread
(the port may wait for a running scan cycle to finish) and renders the answer. Only chats in
`allowed_chat_ids` get answers (messages and button presses alike); anything else is logged and
ignored. A handler that raises answers with an error line and the bot keeps running. Every message
starts with the mode tag ([DRY-RUN], [LIVE], ...). `/kill_switch` and `/retrain` ask for a
confirmation: inline Confirm/Cancel buttons, or `/confirm` / `/cancel`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)

from adapters.notifiers.formatting import (
    format_alert,
    format_balance,
    format_check,
    format_daily,
    format_ftmo,
    format_performance,
    format_positions,
    format_profit,
    format_signal,
    format_signal_list,
    format_stats,
    mode_tag,
)
from adapters.notifiers.telegram.outbox import Outbox, Outgoing
from domain.errors import UserError
from domain.signals import Mode, Signal, Tier
from ports.operator import OperatorCommands

CONFIRM_TTL_S = 60.0
THRESHOLD_RANGE = (0.5, 1.0)

HELP = (
    "/status - open positions with their P&L\n/check - system status (kill switch, guard, broker, thresholds)\n"
    "/profit [days] - closed trades and account profit (default 30 days)\n/daily [days] - per trading day (7)\n"
    "/balance - balance, equity, profit\n/performance [days] - per pair (30)\n/signals [n] - last signals (5)\n"
    "/stats [days] - performance by tier, session, pair, model (7 and 30 days)\n"
    "/ftmo_status - account vs FTMO floors\n"
    "/threshold <n> | /threshold <tier> <n> - set a confidence threshold (0.50-1.00 or 50-100)\n"
    "/kill_switch on|off - stop or resume emission (asks to confirm)\n/retrain - queue a retrain (asks to confirm)\n"
    "/confirm, /cancel - answer a pending confirmation (or press its buttons)\n/help - this list"
)
Reply = str | tuple[str, tuple[tuple[str, str], ...]]  # text, or text with inline buttons


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
        self.pending: dict[int, tuple[str, Callable[[], Awaitable[str]], float, str]] = {}
        self._nonce = 0
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
            poll_interval=self.poll_interval_s,
            timeout=self.poll_timeout_s,
            drop_pending_updates=False,
            allowed_updates=["message", "callback_query"],
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
        self.log.info(
            "telegram_stopped", extra={"ctx": {"sent": self.outbox.stats.sent, "failed": self.outbox.stats.failed}}
        )

    @property
    def healthy(self) -> bool:
        return self.outbox.healthy

    # --- outgoing -------------------------------------------------------------------------------------

    async def _send_now(self, chat_id: int, text: str, buttons: tuple[tuple[str, str], ...] = ()) -> object:
        markup = (
            InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])
            if buttons
            else None
        )
        return await self.app.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)

    def tagged(self, text: str) -> str:
        """Every message names the mode it comes from."""
        tag = mode_tag(self.mode)
        return text if tag in text.split("\n", 1)[0] else f"{tag} {text}"

    def enqueue(
        self, text: str, kind: str, chat_id: int | None = None, buttons: tuple[tuple[str, str], ...] = ()
    ) -> None:
        targets = [chat_id] if chat_id is not None else sorted(self.allowed)
        for cid in targets:
            self.outbox.put(Outgoing(cid, self.tagged(text), kind, time.monotonic(), buttons))

    # --- incoming -------------------------------------------------------------------------------------

    def _register(self) -> None:
        self.app.add_handler(TypeHandler(Update, self._gate), group=-1)
        table: dict[str, Callable[[Update, list[str]], Awaitable[Reply]]] = {
            "status": self._status,
            "profit": self._profit,
            "daily": self._daily,
            "balance": self._balance,
            "performance": self._performance,
            "signals": self._signals,
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
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_error_handler(self._on_error)

    async def _gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.id not in self.allowed:
            self.unauthorised += 1
            msg = update.effective_message
            self.log.warning(
                "telegram_unauthorised",
                extra={
                    "ctx": {
                        "chat_id": None if chat is None else chat.id,
                        "text": (msg.text or "")[:40] if msg is not None else "",
                    }
                },
            )
            raise ApplicationHandlerStop

    def _wrap(self, name: str, fn: Callable[[Update, list[str]], Awaitable[Reply]]) -> Any:
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            started = time.monotonic()
            chat_id = update.effective_chat.id if update.effective_chat else 0
            ok = True
            buttons: tuple[tuple[str, str], ...] = ()
            try:
                reply = await fn(update, list(context.args or []))
                if isinstance(reply, tuple):
                    reply, buttons = reply
            except UserError as exc:
                reply = f"error: {exc}"
            except Exception as exc:  # a broken handler answers and the bot lives on
                ok = False
                self.command_errors += 1
                self.log.exception("telegram_command_failed", extra={"ctx": {"command": name}})
                reply = f"error: /{name} failed ({type(exc).__name__}: {exc}); the bot is still running"
            self.commands_answered += 1
            self.enqueue(reply, "reply", chat_id, buttons)
            self.log.info(
                "telegram_command",
                extra={
                    "ctx": {
                        "command": name,
                        "chat_id": chat_id,
                        "ok": ok,
                        "handle_ms": round((time.monotonic() - started) * 1000, 1),
                    }
                },
            )

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

    def _ask(self, update: Update, label: str, action: Callable[[], Awaitable[str]]) -> Reply:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        self._nonce += 1
        nonce = str(self._nonce)
        self.pending[chat_id] = (label, action, time.monotonic() + CONFIRM_TTL_S, nonce)
        return (
            f"Confirm: {label}? Press Confirm or send /confirm within {CONFIRM_TTL_S:.0f}s (or Cancel / /cancel).",
            (("Confirm", f"confirm:{nonce}"), ("Cancel", f"cancel:{nonce}")),
        )

    async def _kill_switch(self, update: Update, args: list[str]) -> Reply:
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise CommandError("usage: /kill_switch on|off")
        on = args[0].lower() == "on"

        async def act() -> str:
            state = await self._call(self.operator.kill_switch, on)
            self.log.warning("kill_switch_set", extra={"ctx": {"on": state, "by": "telegram"}})
            return f"kill switch is now {'ON: nothing will be emitted' if state else 'off: emission resumes'}"

        return self._ask(update, f"turn the kill switch {'ON' if on else 'OFF'}", act)

    async def _retrain(self, update: Update, args: list[str]) -> Reply:
        reason = " ".join(args) or "requested from Telegram"

        async def act() -> str:
            req = await self._call(self.operator.request_retrain, reason)
            self.log.info("retrain_requested", extra={"ctx": {"request_id": req.request_id, "reason": reason}})
            return f"retrain queued: request {req.request_id}"

        return self._ask(update, "queue a retrain", act)

    async def _confirm(self, update: Update, args: list[str], nonce: str | None = None) -> str:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        pending = self.pending.get(chat_id)
        if pending is None or (nonce is not None and pending[3] != nonce):
            return "nothing to confirm" if pending is None else "that confirmation is no longer pending"
        del self.pending[chat_id]
        label, action, deadline, _ = pending
        if time.monotonic() > deadline:
            return f"confirmation for '{label}' expired; send the command again"
        return await action()

    async def _cancel(self, update: Update, args: list[str], nonce: str | None = None) -> str:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        pending = self.pending.get(chat_id)
        if pending is None or (nonce is not None and pending[3] != nonce):
            return "nothing to cancel" if pending is None else "that confirmation is no longer pending"
        del self.pending[chat_id]
        return f"cancelled: {pending[0]}"

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline Confirm/Cancel press: the same path as /confirm and /cancel, for that request only."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        what, _, nonce = (query.data or "").partition(":")
        if what not in ("confirm", "cancel"):
            return
        fn = self._confirm if what == "confirm" else self._cancel

        async def run(u: Update, args: list[str]) -> Reply:
            return await fn(u, args, nonce)

        await self._wrap(f"button:{what}", run)(update, context)

    # --- reads: /status /profit /daily /balance /performance /signals --------------------------------

    @staticmethod
    def _int_arg(args: list[str], name: str, default: int, lo: int, hi: int) -> int:
        if not args:
            return default
        try:
            value = int(args[0])
        except ValueError:
            raise CommandError(f"usage: /{name} [{lo}-{hi}]; not a number: {args[0]!r}") from None
        if not lo <= value <= hi:
            raise CommandError(f"/{name}: {value} is outside {lo}-{hi}")
        return value

    async def _status(self, update: Update, args: list[str]) -> str:
        return format_positions(await self._call(self.operator.positions))

    async def _profit(self, update: Update, args: list[str]) -> str:
        days = self._int_arg(args, "profit", 30, 1, 3650)
        return format_profit(await self._call(self.operator.stats, days), await self._call(self.operator.ftmo_status))

    async def _daily(self, update: Update, args: list[str]) -> str:
        return format_daily(await self._call(self.operator.daily, self._int_arg(args, "daily", 7, 1, 90)))

    async def _balance(self, update: Update, args: list[str]) -> str:
        return format_balance(await self._call(self.operator.ftmo_status))

    async def _performance(self, update: Update, args: list[str]) -> str:
        days = self._int_arg(args, "performance", 30, 1, 3650)
        return format_performance(await self._call(self.operator.stats, days))

    async def _signals(self, update: Update, args: list[str]) -> str:
        n = self._int_arg(args, "signals", 5, 1, 50)
        return format_signal_list(await self._call(self.operator.recent_signals, n))


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
