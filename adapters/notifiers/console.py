"""Notifier that prints to a stream (the demo, replays, a terminal without Telegram)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from adapters.notifiers.formatting import format_alert, format_signal
from domain.signals import Mode, Signal


class ConsoleNotifier:
    def __init__(self, stream: TextIO | None = None, mode: Mode | str = Mode.DRYRUN, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.mode = mode
        self.quiet = quiet  # count but do not print (long replays)
        self.sent = 0
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            self.sent += 1
            if not self.quiet:
                print(text, file=self.stream, flush=True)

    def send_signal(self, signal: Signal) -> None:
        self._write(format_signal(signal))

    def send_alert(self, kind: str, text: str) -> None:
        self._write(format_alert(kind, text, self.mode))

    def send_text(self, text: str, chat_id: str | None = None) -> None:
        self._write(text)
