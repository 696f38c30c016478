"""EventBus contract, run against every adapter: the in-process bus (default), its recording mock and
the Kafka bus on a real tansu broker. Factories get tmp_path and return (bus, drain) where drain()
delivers pending events (a no-op for synchronous buses)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.events.in_process import InProcessEventBus
from adapters.mocks.event_bus import InMemoryEventBus
from ports.event_bus import TOPICS, EventBus


def _kafka(tmp_path: Path) -> tuple[EventBus, Callable[[], None]]:
    from adapters.events.kafka import KafkaEventBus, KafkaSettings
    from tests.integration.events.tansu import shared_broker, unique_prefix

    broker = shared_broker()
    prefix = unique_prefix()
    broker.create_topics([prefix + t for t in TOPICS])
    bus = KafkaEventBus(
        KafkaSettings(broker.bootstrap, topic_prefix=prefix, lag_group="", request_timeout_ms=3_000), mode="dryrun"
    ).start()

    def drain() -> None:
        assert bus.flush(15), bus.status()

    return bus, drain


BUSES: list[Any] = [
    pytest.param(lambda tmp_path: (InProcessEventBus(), lambda: None), id="in_process"),
    pytest.param(lambda tmp_path: (InMemoryEventBus(), lambda: None), id="mock"),
    pytest.param(_kafka, id="kafka"),
]


@pytest.fixture(params=BUSES)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EventBus, Callable[[], None]]]:
    factory: Callable[[Path], tuple[EventBus, Callable[[], None]]] = request.param
    bus, drain = factory(tmp_path)
    yield bus, drain
    bus.close()


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
        bus.publish("signals", {"n": i, "pair": "BTC/USDT"})
    drain()
    assert got == [("signals", 0), ("signals", 1), ("signals", 2)]
    unsub()
    unsub()
    bus.publish("signals", {"n": 9, "pair": "BTC/USDT"})
    drain()
    assert got[-1] == ("signals", 2)


def test_status_names_the_adapter(setup: tuple[EventBus, Callable[[], None]]) -> None:
    bus, drain = setup
    bus.publish("metrics", {"kind": "x"})
    drain()
    status = bus.status()
    assert status["kind"] in ("in_process", "mock", "kafka")
    if status["kind"] == "kafka":
        assert status["published"] == status["delivered"] == 1 and status["dropped"] == 0
        assert status["broker_reachable"] is True and status["buffer_depth"] == 0
