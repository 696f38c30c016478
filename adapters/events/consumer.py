"""A downstream consumer: one topic read in a consumer group, offsets committed after each batch.

`trading-ai events tail` runs it. With `from_beginning` a group that has no committed offset starts
at the oldest record kept (Kafka's `auto.offset.reset=earliest`); a group that has committed resumes
where it stopped either way, as every Kafka consumer does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import attrs

from adapters.events import codec


@attrs.frozen
class ConsumedEvent:
    topic: str  # short name (signals, blocks, ...)
    partition: int
    offset: int
    key: str | None
    timestamp_ms: int
    payload: dict[str, Any]


async def tail(
    bootstrap_servers: str,
    topic: str,
    *,
    group: str,
    from_beginning: bool = False,
    on_event: Callable[[ConsumedEvent], None],
    max_events: int | None = None,
    idle_timeout_s: float | None = None,
    stop: asyncio.Event | None = None,
    session_timeout_ms: int = 10_000,
    request_timeout_ms: int = 10_000,
) -> int:
    """Consume `topic` (full name) as member of `group` until `max_events`, `idle_timeout_s` without a
    record, or `stop`; commit what was handed to `on_event`. Returns the number of events consumed."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(100, session_timeout_ms // 3),
        request_timeout_ms=request_timeout_ms,
        fetch_max_wait_ms=200,
    )
    await consumer.start()
    prefix_free = topic
    n = 0
    loop = asyncio.get_running_loop()
    last = loop.time()
    try:
        while stop is None or not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            done: dict[Any, int] = {}
            for tp, records in batch.items():
                for r in records:
                    if max_events is not None and n >= max_events:
                        break
                    key = r.key.decode("utf-8", "replace") if r.key is not None else None
                    on_event(
                        ConsumedEvent(prefix_free, tp.partition, r.offset, key, int(r.timestamp), codec.decode(r.value))
                    )
                    done[TopicPartition(tp.topic, tp.partition)] = r.offset + 1
                    n += 1
            if done:
                await consumer.commit(done)
                last = loop.time()
            if max_events is not None and n >= max_events:
                break
            if idle_timeout_s is not None and loop.time() - last >= idle_timeout_s:
                break
    finally:
        await consumer.stop()
    return n
