"""Notifier: messages to humans (Telegram, console)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.signals import Signal


@runtime_checkable
class Notifier(Protocol):
    """Outbound messages.

    Contract:
    - Every method returns None on success and raises on failure (the caller decides to retry);
      a notifier never silently drops a message.
    - `send_signal(signal)` formats a signal including its mode tag (dryrun/live), pair, tier,
      confidence, entry, TP, SL and RR. Sending the same signal_id twice sends it twice (dedup is
      the signal log's job).
    - `send_alert(kind, text)` is for operational alerts (kill switch attempts, guard breaches,
      broker errors); `kind` is a short code such as "kill_switch".
    - `send_text(text, chat_id=None)` replies to a chat (None = the default operator chat).
    """

    def send_signal(self, signal: Signal) -> None: ...

    def send_alert(self, kind: str, text: str) -> None: ...

    def send_text(self, text: str, chat_id: str | None = None) -> None: ...
