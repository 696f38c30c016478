"""An in-process event bus that also keeps every published event (for assertions)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ports.event_bus import Handler

log = logging.getLogger(__name__)


class InMemoryEventBus:
    def __init__(self) -> None:
        self._subs: dict[str, list[Handler]] = {}
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        event = dict(payload)
        self.published.append((topic, event))
        for h in list(self._subs.get(topic, ())):
            try:
                h(topic, event)
            except Exception:  # a broken subscriber must not stop the others
                log.exception("event handler failed on topic %s", topic)

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        self._subs.setdefault(topic, []).append(handler)

        def unsubscribe() -> None:
            subs = self._subs.get(topic, [])
            if handler in subs:
                subs.remove(handler)

        return unsubscribe

    def topic(self, name: str) -> list[dict[str, Any]]:
        return [p for t, p in self.published if t == name]
