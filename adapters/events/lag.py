"""Consumer-group lag as an age (`kafka_lag_ms`) and the alert rule on it.

Lag is the age of the oldest record the downstream group has not consumed yet, per partition: the
record at the group's committed offset (the log start when the group never committed), fetched,
its timestamp compared with now. Whether anything is unconsumed at all comes from the high
watermark of that same Fetch response, never from a ListOffsets answer alone (a broker may serve
ListOffsets from a cache that trails the log). A caught-up partition has lag 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed on this partition
    high_watermark: int | None
    lag_records: int | None
    lag_ms: int | None  # None: records are unconsumed but none could be fetched in time


@attrs.frozen
class LagReading:
    group: str
    at_ms: int
    partitions: tuple[PartitionLag, ...]

    @property
    def lag_ms(self) -> int | None:
        """The oldest unconsumed record's age over all partitions (0 when caught up, None if unknown)."""
        known = [p.lag_ms for p in self.partitions if p.lag_ms is not None]
        if any(p.lag_ms is None for p in self.partitions):
            return max(known) if known else None
        return max(known, default=0)

    @property
    def lag_records(self) -> int:
        return sum(p.lag_records or 0 for p in self.partitions)

    def by_topic(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for p in self.partitions:
            prev = out.get(p.topic, 0)
            out[p.topic] = None if p.lag_ms is None or prev is None else max(prev, p.lag_ms)
        return out


async def measure_lag(
    bootstrap_servers: str,
    group: str,
    topics: Iterable[str],
    *,
    now_ms: int | None = None,
    fetch_timeout_ms: int = 2_000,
    **consumer_kwargs: Any,
) -> LagReading:
    """One reading for `group` over the existing partitions of `topics` (full names).

    Uses a throw-away consumer that carries the group id only to read its committed offsets: it
    never subscribes (so it never joins or rebalances the group) and never commits."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        **consumer_kwargs,
    )
    await consumer.start()
    try:
        existing = await consumer.topics()
        tps = [
            TopicPartition(t, p)
            for t in topics
            if t in existing
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        if not tps:
            return LagReading(group, now_ms if now_ms is not None else _wall_ms(), ())
        consumer.assign(tps)
        committed: dict[Any, int | None] = {tp: await consumer.committed(tp) for tp in tps}
        missing = [tp for tp, off in committed.items() if off is None]
        start = dict(committed)
        if missing:
            start.update(await consumer.beginning_offsets(missing))
        seek_ms = _wall_ms()
        for tp in tps:
            consumer.seek(tp, int(start[tp]))
        first_ts: dict[Any, int] = {}
        pending = set(tps)
        deadline = time.monotonic() + fetch_timeout_ms / 1000
        while pending and time.monotonic() < deadline:
            got = await consumer.getmany(*pending, timeout_ms=100, max_records=len(pending))
            for tp, records in got.items():
                if records and tp in pending:
                    first_ts[tp] = int(records[0].timestamp)
                    pending.discard(tp)
            for tp in list(pending):
                polled = consumer.last_poll_timestamp(tp)
                hw = consumer.highwater(tp)
                if polled is not None and polled >= seek_ms and hw is not None and hw <= int(start[tp]):
                    pending.discard(tp)  # caught up, by the fetch's own high watermark
        now = now_ms if now_ms is not None else _wall_ms()
        parts = []
        for tp in tps:
            hw = consumer.highwater(tp)
            s = int(start[tp])
            n = None if hw is None else max(0, hw - s)
            if tp in first_ts:
                age: int | None = max(0, now - first_ts[tp])
            elif n == 0:
                age = 0
            else:
                age = None
            parts.append(PartitionLag(tp.topic, tp.partition, committed[tp], hw, n, age))
        return LagReading(group, now, tuple(parts))
    finally:
        await consumer.stop()


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.define
class LagAlarm:
    """Fires once when lag has stayed above `threshold_ms` for `hold_ms`; re-arms when lag falls back.

    An unknown reading (None) neither starts nor ends an episode."""

    threshold_ms: int = 1_000
    hold_ms: int = 5 * 60_000
    above_since_ms: int | None = None
    fired: bool = False
    episodes: int = 0

    @classmethod
    def of_minutes(cls, threshold_ms: int, minutes: float) -> LagAlarm:
        return cls(threshold_ms=threshold_ms, hold_ms=int(minutes * 60_000))

    def observe(self, now_ms: int, lag_ms: int | None) -> bool:
        """Feed one reading; True exactly when the alert should fire now."""
        if lag_ms is None:
            return False
        if lag_ms <= self.threshold_ms:
            self.above_since_ms = None
            self.fired = False
            return False
        if self.above_since_ms is None:
            self.above_since_ms = now_ms
        if not self.fired and now_ms - self.above_since_ms >= self.hold_ms:
            self.fired = True
            self.episodes += 1
            return True
        return False

    @property
    def active(self) -> bool:
        return self.fired
