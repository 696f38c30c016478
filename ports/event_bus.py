"""EventBus: publish runtime events (in-process, Kafka)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

Handler = Callable[[str, Mapping[str, Any]], None]

TOPICS = ("signals", "blocks", "trades", "metrics", "alerts", "sentiment")


@runtime_checkable
class EventBus(Protocol):
    """Contract:
    - `publish(topic, payload)`: payload is a JSON-serialisable mapping; delivery to each
      subscriber of that topic is in publish order. Publishing with no subscriber is not an error.
    - `subscribe(topic, handler)` registers handler(topic, payload) for later publishes and returns
      a callable that unsubscribes it (idempotent).
    - A failing handler does not stop delivery to the others.
    """

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None: ...

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]: ...
