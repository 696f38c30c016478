"""A notifier that records what it would have sent (optionally failing, to test retries)."""

from __future__ import annotations

from domain.signals import Signal


class RecordingNotifier:
    def __init__(self) -> None:
        self.signals: list[Signal] = []
        self.alerts: list[tuple[str, str]] = []
        self.texts: list[tuple[str | None, str]] = []
        self.fail_next = 0

    def _maybe_fail(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("mock notifier: simulated send failure")

    def send_signal(self, signal: Signal) -> None:
        self._maybe_fail()
        self.signals.append(signal)

    def send_alert(self, kind: str, text: str) -> None:
        self._maybe_fail()
        self.alerts.append((kind, text))

    def send_text(self, text: str, chat_id: str | None = None) -> None:
        self._maybe_fail()
        self.texts.append((chat_id, text))
