"""The in-process event bus that also keeps every published event, for assertions in tests and the demo."""

from __future__ import annotations

from typing import Any

from adapters.events.in_process import InProcessEventBus


class InMemoryEventBus(InProcessEventBus):
    kind = "mock"

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    def _record(self, topic: str, event: dict[str, Any]) -> None:
        self.published.append((topic, event))

    def topic(self, name: str) -> list[dict[str, Any]]:
        return [p for t, p in self.published if t == name]
