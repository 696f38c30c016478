"""EventBus contract. Factories get tmp_path and return (bus, drain) where drain() delivers pending
events (a no-op for synchronous buses)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.event_bus import InMemoryEventBus
from ports.event_bus import EventBus

BUSES: list[Any] = [pytest.param(lambda tmp_path: (InMemoryEventBus(), lambda: None), id="mock")]


@pytest.fixture(params=BUSES)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[EventBus, Callable[[], None]]:
    factory: Callable[[Path], tuple[EventBus, Callable[[], None]]] = request.param
    return factory(tmp_path)


def test_ordered_delivery_unsubscribe_and_failing_handler(setup: tuple[EventBus, Callable[[], None]]) -> None:
    bus, drain = setup
    assert isinstance(bus, EventBus)
    got: list[tuple[str, int]] = []

    def bad(topic: str, payload: Mapping[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    def good(topic: str, payload: Mapping[str, Any]) -> None:
        got.append((topic, int(payload["n"])))

    bus.subscribe("signals", bad)
    unsub = bus.subscribe("signals", good)
    bus.publish("trades", {"n": 0})  # nobody listens: fine
    for i in range(3):
        bus.publish("signals", {"n": i})
    drain()
    assert got == [("signals", 0), ("signals", 1), ("signals", 2)]
    unsub()
    unsub()
    bus.publish("signals", {"n": 9})
    drain()
    assert got[-1] == ("signals", 2)
