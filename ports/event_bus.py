"""EventBus: publish runtime events (in-process by default, Kafka with EVENT_BUS=kafka)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from domain.errors import UserError

Handler = Callable[[str, Mapping[str, Any]], None]

TOPICS = ("signals", "blocks", "trades", "metrics", "alerts", "sentiment")


@runtime_checkable
class EventBus(Protocol):
    """Contract:
    - `publish(topic, payload)`: payload is a JSON-serialisable mapping; delivery to each
      subscriber of that topic is in publish order (per `pair` on a partitioned bus). Publishing
      with no subscriber is not an error. Publishing never blocks on I/O: a bus that sends events
      elsewhere buffers them and may drop the oldest when its buffer is full (counted in `status`);
      the database outbox, not the bus, is the record of truth.
    - `subscribe(topic, handler)` registers handler(topic, payload) for later publishes and returns
      a callable that unsubscribes it (idempotent).
    - A failing handler does not stop delivery to the others.
    - `status()` is a JSON-ready mapping for /healthz (at least `kind`); `close()` delivers what
      it can and releases the bus's resources.
    """

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None: ...

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]: ...

    def status(self) -> Mapping[str, Any]: ...

    def close(self) -> None: ...


class EventBusUnavailable(UserError):
    """The configured broker cannot be reached or lacks a topic (a setup mistake, shown as one line)."""
