"""The in-process event bus, the default EventBus: handlers run synchronously in the publisher's thread.

Nothing leaves the process and nothing is kept: a publish with no subscriber costs a dict copy and a
lookup. `EVENT_BUS=kafka` swaps in `adapters.events.kafka.KafkaEventBus` for downstream consumers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ports.event_bus import Handler

log = logging.getLogger(__name__)


class InProcessEventBus:
    kind = "in_process"

    def __init__(self) -> None:
        self._subs: dict[str, list[Handler]] = {}
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        event = dict(payload)
        self._record(topic, event)
        with self._lock:
            handlers = list(self._subs.get(topic, ()))
        for h in handlers:
            try:
                h(topic, event)
            except Exception:  # a broken subscriber must not stop the others
                log.exception("event handler failed on topic %s", topic)

    def _record(self, topic: str, event: dict[str, Any]) -> None:
        """Hook for the recording test double (adapters.mocks.event_bus); nothing here."""

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        with self._lock:
            self._subs.setdefault(topic, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subs.get(topic, [])
                if handler in subs:
                    subs.remove(handler)

        return unsubscribe

    def status(self) -> dict[str, Any]:
        """The /healthz view (same keys as the Kafka bus where they apply)."""
        return {"kind": self.kind}

    def close(self) -> None:
        """Nothing to flush."""
