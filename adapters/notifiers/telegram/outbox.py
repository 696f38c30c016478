"""Outgoing Telegram messages go through a queue drained by one task, so the scan loop never waits
on Telegram. Transient failures (network, timeouts, flood control) are retried with exponential
backoff; a permanent refusal (bad chat, blocked bot) is logged as an error with the text kept in the
log. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import attrs
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

# (chat id, text, inline buttons as (label, callback data) pairs)
Send = Callable[[int, str, tuple[tuple[str, str], ...]], Awaitable[object]]


@attrs.frozen
class Outgoing:
    chat_id: int
    text: str
    kind: str  # signal | alert | reply | text
    queued_at: float
    buttons: tuple[tuple[str, str], ...] = ()  # inline keyboard (label, callback data), one row


@attrs.define
class OutboxStats:
    sent: int = 0
    retries: int = 0
    failed: int = 0
    last_ok_at: float | None = None
    last_error: str = ""
    consecutive_failures: int = 0


class Outbox:
    def __init__(
        self, send: Send, log: logging.Logger, *, max_backoff_s: float = 60.0, first_backoff_s: float = 1.0
    ) -> None:
        self._send = send
        self.log = log
        self.max_backoff_s = max_backoff_s
        self.first_backoff_s = first_backoff_s
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.stats = OutboxStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._drain(), name="telegram-outbox")

    def put(self, msg: Outgoing) -> None:
        """Thread-safe: callable from the scan loop's worker thread."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("telegram outbox not started")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.queue.put_nowait(msg)
        else:
            loop.call_soon_threadsafe(self.queue.put_nowait, msg)

    @property
    def healthy(self) -> bool:
        return self.stats.consecutive_failures < 3

    async def _drain(self) -> None:
        while True:
            msg = await self.queue.get()
            try:
                await self._deliver(msg)
            finally:
                self.queue.task_done()

    async def _deliver(self, msg: Outgoing) -> None:
        delay = self.first_backoff_s
        while True:
            try:
                await self._send(msg.chat_id, msg.text, msg.buttons)
            except RetryAfter as exc:
                wait = float(
                    exc.retry_after if isinstance(exc.retry_after, (int, float)) else exc.retry_after.total_seconds()
                )
                self._note_retry(msg, exc, wait)
                await asyncio.sleep(wait)
            except (BadRequest, Forbidden, InvalidToken) as exc:
                self.stats.failed += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self.log.error(
                    "telegram_send_failed",
                    extra={
                        "ctx": {
                            "chat_id": msg.chat_id,
                            "kind": msg.kind,
                            "error": self.stats.last_error,
                            "text": msg.text,
                        }
                    },
                )
                return
            except (TelegramError, OSError) as exc:
                if self._stopping:
                    self.stats.failed += 1
                    self.log.error(
                        "telegram_send_failed",
                        extra={
                            "ctx": {
                                "chat_id": msg.chat_id,
                                "kind": msg.kind,
                                "error": f"shutting down: {exc}",
                                "text": msg.text,
                            }
                        },
                    )
                    return
                self._note_retry(msg, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
            else:
                self.stats.sent += 1
                self.stats.consecutive_failures = 0
                self.stats.last_ok_at = time.time()
                self.log.info(
                    "telegram_sent",
                    extra={
                        "ctx": {
                            "chat_id": msg.chat_id,
                            "kind": msg.kind,
                            "queue_ms": round((time.monotonic() - msg.queued_at) * 1000, 1),
                        }
                    },
                )
                return

    def _note_retry(self, msg: Outgoing, exc: Exception, wait: float) -> None:
        self.stats.retries += 1
        self.stats.consecutive_failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.log.warning(
            "telegram_retry",
            extra={
                "ctx": {
                    "chat_id": msg.chat_id,
                    "kind": msg.kind,
                    "error": self.stats.last_error,
                    "retry_in_s": wait,
                }
            },
        )

    async def flush(self, timeout_s: float = 5.0) -> int:
        """Wait for queued messages (bounded); returns how many were left unsent."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout=timeout_s)
        left = self.queue.qsize()
        if left:
            self.log.error("telegram_unsent_at_shutdown", extra={"ctx": {"count": left}})
        return left

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
