"""The Kafka event bus (aiokafka, `[kafka]` extra): runtime events to topics, never on the critical path.

`publish()` encodes the event and appends it to a bounded in-memory buffer; that is all the scan
cycle pays. A background thread with its own asyncio loop drains the buffer into an idempotent
producer (`enable_idempotence`, acks=all), one topic per event kind (`<prefix><topic>`), key = pair.

- Broker slow or gone: the buffer fills; past `buffer_size` the OLDEST events are dropped and counted
  (`dropped`, logged as `event_bus_dropped`, shown in /healthz). Trading never waits.
- A failed send puts the undelivered events back at the front of the buffer (order kept), closes
  the producer and reconnects with backoff; a new producer gets a new producer id, so delivery is
  at-least-once across reconnects (consumers dedupe on `signal_id` / the event's own ids).
- The database outbox stays the record of truth: Kafka carries copies for downstream consumers.
- Lag: every `lag_interval_s` the bus measures `kafka_lag_ms` of `lag_group` (adapters.events.lag),
  logs it (`kafka_lag`) and raises the `kafka_lag` alert once per episode above the threshold.

`subscribe()` reads the topic back from Kafka (no consumer group, from the end at subscription),
so subscribers see what downstream consumers see.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from adapters.events import codec
from adapters.events.lag import LagAlarm, LagReading, measure_lag
from ports.event_bus import TOPICS, Handler

DRAIN_BATCH = 512
Buffered = tuple[str, bytes | None, bytes, int]  # full topic, key, value, publish wall ms


@attrs.frozen
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "trading-ai."
    client_id: str = "trading-ai"
    buffer_size: int = 10_000
    request_timeout_ms: int = 5_000
    linger_ms: int = 5
    drain_interval_ms: int = 50  # how often the bus thread looks at the buffer (delivery delay, not cycle time)
    lag_group: str = "trading-ai-downstream"  # empty: no lag measurement
    lag_interval_s: float = 15.0
    lag_alert_ms: int = 1_000
    lag_alert_minutes: float = 5.0
    session_timeout_ms: int = 10_000  # consumers in a group (events tail)
    reconnect_max_s: float = 5.0  # the reconnect backoff doubles from 0.2 s up to this
    topics: tuple[str, ...] = TOPICS

    def topic(self, short: str) -> str:
        return codec.topic_name(self.topic_prefix, short)


@attrs.define
class BusCounters:
    published: int = 0
    delivered: int = 0
    dropped: int = 0
    send_failures: int = 0
    reconnects: int = 0
    last_publish_ms: int | None = None
    last_delivered_ms: int | None = None


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class KafkaEventBus:
    kind = "kafka"

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        mode: str = "",
        log: logging.Logger | None = None,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        from adapters.events import kafka_compat

        kafka_compat.install()
        self.settings = settings
        self.mode = mode
        self.log = log or logging.getLogger("trading_ai")
        self.wall_ms = wall_ms
        self.n = BusCounters()
        self.broker_reachable: bool | None = None
        self.last_error: str = ""
        self.lag: LagReading | None = None
        self.alarm = LagAlarm.of_minutes(settings.lag_alert_ms, settings.lag_alert_minutes)
        self._buf: collections.deque[Buffered] = collections.deque()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._wake: asyncio.Event | None = None
        self._idle = False
        self._closing = False
        self._wake_depth = max(1, settings.buffer_size // 2)
        self.cpu_s = 0.0  # CPU seconds the bus thread has used (bench: what it takes from the cycles)
        self._producer: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._subs: dict[str, _Subscription] = {}
        self._ready = threading.Event()
        self._drop_logged_at = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> KafkaEventBus:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run_loop, name="kafka-event-bus", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._wake = asyncio.Event()
        self._tasks.append(loop.create_task(self._drain(), name="kafka-drain"))
        if self.settings.lag_group:
            self._tasks.append(loop.create_task(self._lag_loop(), name="kafka-lag"))
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is buffered (up to `timeout_s`), then stop; what is left is counted dropped."""
        if self._loop is None or self._thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(timeout_s), self._loop).result(timeout_s + 5)
        except Exception:
            self.log.exception("event_bus_close_failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._thread = None
        self.log.info("event_bus_closed", extra={"ctx": self.status()})

    async def _shutdown(self, timeout_s: float) -> None:
        self._closing = True
        self._kick()
        drain = self._tasks[0]
        with contextlib.suppress(Exception):  # a timeout included: what is left is counted below
            await asyncio.wait_for(asyncio.shield(drain), timeout_s)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with self._lock:  # still buffered, or cancelled while awaiting acks (then perhaps delivered: counted lost)
            left = len(self._buf) + self._in_flight
            self._buf.clear()
            self._in_flight = 0
            self.n.dropped += left
        if left:
            self.log.warning(
                "event_bus_dropped",
                extra={
                    "ctx": {"dropped": left, "reason": "closed with events buffered", "dropped_total": self.n.dropped}
                },
            )
        for sub in list(self._subs.values()):
            await sub.stop()
        self._subs.clear()
        await self._drop_producer("closed")

    # ------------------------------------------------------------------ the port
    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Never blocks on Kafka: encode, append to the bounded buffer (dropping the oldest when full)."""
        key, value = codec.encode(payload, self.mode)
        now = self.wall_ms()
        dropped = 0
        with self._lock:
            if len(self._buf) >= self.settings.buffer_size:
                self._buf.popleft()
                self.n.dropped += 1
                dropped = self.n.dropped
            self._buf.append((self.settings.topic(topic), key, value, now))
            self.n.published += 1
            self.n.last_publish_ms = now
            # No wake-up per event: the drainer polls every `drain_interval_ms`, so a publish never hands
            # the GIL to the bus thread mid-cycle. Only a filling buffer wakes it early.
            wake = self._idle and len(self._buf) >= self._wake_depth
            if wake:
                self._idle = False
        if dropped and (dropped == 1 or now - self._drop_logged_at >= 10_000):
            self._drop_logged_at = now
            self.log.warning(
                "event_bus_dropped",
                extra={
                    "ctx": {
                        "reason": "buffer full",
                        "dropped_total": dropped,
                        "buffer_size": self.settings.buffer_size,
                        "broker_reachable": self.broker_reachable,
                    }
                },
            )
        if wake:
            self._kick()

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        self.start()
        assert self._loop is not None
        name = self.settings.topic(topic)
        asyncio.run_coroutine_threadsafe(self._subscribe(name, handler), self._loop).result(30)

        def unsubscribe() -> None:
            if self._loop is None or not self._loop.is_running():
                return
            asyncio.run_coroutine_threadsafe(self._unsubscribe(name, handler), self._loop).result(30)

        return unsubscribe

    # ------------------------------------------------------------------ views
    def status(self) -> dict[str, Any]:
        """For /healthz and the logs."""
        lag = self.lag
        with self._lock:
            depth = len(self._buf) + self._in_flight
        return {
            "kind": self.kind,
            "bootstrap_servers": self.settings.bootstrap_servers,
            "broker_reachable": self.broker_reachable,
            "last_publish_ms": self.n.last_publish_ms,
            "last_delivered_ms": self.n.last_delivered_ms,
            "buffer_depth": depth,
            "buffer_size": self.settings.buffer_size,
            "published": self.n.published,
            "delivered": self.n.delivered,
            "dropped": self.n.dropped,
            "reconnects": self.n.reconnects,
            "last_error": self.last_error,
            "lag_group": self.settings.lag_group,
            "kafka_lag_ms": None if lag is None else lag.lag_ms,
            "kafka_lag_records": None if lag is None else lag.lag_records,
            "kafka_lag_at_ms": None if lag is None else lag.at_ms,
            "kafka_lag_by_topic": None
            if lag is None
            else {codec.short_topic(self.settings.topic_prefix, k): v for k, v in lag.by_topic().items()},
            "lag_alert": self.alarm.active,
        }

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every buffered event was sent and acknowledged and every subscriber read up to
        it (tests, bench, the contract suite's drain). False on timeout."""
        if self._loop is None:
            return not self._buf
        try:
            return bool(asyncio.run_coroutine_threadsafe(self._flush(timeout_s), self._loop).result(timeout_s + 5))
        except concurrent.futures.TimeoutError:
            return False

    def measure_lag_now(self, timeout_s: float = 10.0) -> LagReading | None:
        """One lag reading now (also updates status and the alarm)."""
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._measure(), self._loop).result(timeout_s)

    # ------------------------------------------------------------------ the background side
    def _kick(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def _producer_kwargs(self) -> dict[str, Any]:
        s = self.settings
        return {
            "bootstrap_servers": s.bootstrap_servers,
            "client_id": s.client_id,
            "enable_idempotence": True,
            "acks": "all",
            "linger_ms": s.linger_ms,
            "request_timeout_ms": s.request_timeout_ms,
            "retry_backoff_ms": 100,
            "metadata_max_age_ms": 30_000,
        }

    async def _connect(self) -> bool:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**self._producer_kwargs())
        try:
            await producer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await producer.stop()
            self._mark_down(exc)
            return False
        self._producer = producer
        if self.broker_reachable is not True:
            self.log.info(
                "event_bus_connected",
                extra={"ctx": {"bootstrap_servers": self.settings.bootstrap_servers, "reconnects": self.n.reconnects}},
            )
        self.broker_reachable = True
        return True

    def _mark_down(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        if self.broker_reachable is not False:
            self.log.warning(
                "event_bus_unreachable",
                extra={
                    "ctx": {
                        "bootstrap_servers": self.settings.bootstrap_servers,
                        "error": text,
                        "buffer_depth": len(self._buf),
                        "dropped_total": self.n.dropped,
                    }
                },
            )
        self.broker_reachable = False
        self.last_error = text

    async def _drop_producer(self, reason: str) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def _drain(self) -> None:
        assert self._wake is not None
        backoff = 0.2
        await self._connect()  # early, so /healthz knows whether the broker answers before the first event
        while True:
            with self._lock:
                batch = [self._buf.popleft() for _ in range(min(DRAIN_BATCH, len(self._buf)))]
                self._in_flight = len(batch)
                if not batch:
                    self._idle = True
            if not batch:
                if self._closing:
                    return
                self._wake.clear()
                self.cpu_s = time.thread_time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.drain_interval_ms / 1000)
                continue
            if self._producer is None:
                if not await self._connect():
                    self._requeue(batch)
                    if self._closing:
                        return
                    await asyncio.sleep(backoff)
                    backoff = min(self.settings.reconnect_max_s, backoff * 2)
                    continue
                backoff = 0.2
            failed = await self._send(batch)
            if failed:
                self.n.send_failures += 1
                self.n.reconnects += 1
                self._requeue(failed)
                await self._drop_producer("send failed")
                if self._closing:
                    return

    async def _send(self, batch: list[Buffered]) -> list[Buffered]:
        """Send a batch, wait for the acks; returns the events not acknowledged (in order)."""
        futures: list[Any] = []
        error: BaseException | None = None
        for topic, key, value, ts in batch:
            try:
                futures.append(await self._producer.send(topic, value=value, key=key, timestamp_ms=ts))
            except Exception as exc:
                error = exc
                break
        results = await self._acks(futures)
        ok = 0
        failed: list[Buffered] = []
        for ev, res in zip(batch, results, strict=False):
            if isinstance(res, BaseException):
                error = error or res
                failed.append(ev)
            else:
                ok += 1
        failed.extend(batch[len(futures) :])
        self.n.delivered += ok
        if ok:
            self.n.last_delivered_ms = self.wall_ms()
        with self._lock:
            self._in_flight = 0
        if error is not None:
            self._mark_down(error)
        return failed

    async def _acks(self, futures: list[Any]) -> list[Any]:
        """Each send's outcome; one still open after twice the request timeout counts as failed (a sender
        that died on a fatal producer error never resolves its futures)."""
        if not futures:
            return []
        _done, pending = await asyncio.wait(futures, timeout=2 * self.settings.request_timeout_ms / 1000 + 1)
        for f in pending:
            f.cancel()
        out: list[Any] = []
        for f in futures:
            if f in pending or f.cancelled():
                out.append(TimeoutError("no acknowledgement"))
            else:
                exc = f.exception()
                out.append(exc if exc is not None else f.result())
        return out

    def _requeue(self, events: list[Buffered]) -> None:
        """Put undelivered events back in front, oldest first; past capacity the oldest are dropped."""
        with self._lock:
            self._in_flight = 0
            room = self.settings.buffer_size - len(self._buf)
            keep = events[-room:] if room > 0 else []
            lost = len(events) - len(keep)
            self._buf.extendleft(reversed(keep))
            self.n.dropped += lost
        if lost:
            self.log.warning(
                "event_bus_dropped",
                extra={
                    "ctx": {
                        "reason": "buffer full while the broker was down",
                        "dropped": lost,
                        "dropped_total": self.n.dropped,
                    }
                },
            )

    async def _flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        self._kick()
        while time.monotonic() < deadline:
            with self._lock:
                empty = not self._buf and self._in_flight == 0
            if empty:
                break
            await asyncio.sleep(0.01)
        else:
            return False
        for sub in list(self._subs.values()):
            if not await sub.caught_up(deadline):
                return False
        return True

    async def _measure(self) -> LagReading | None:
        s = self.settings
        try:
            reading = await measure_lag(
                s.bootstrap_servers,
                s.lag_group,
                [s.topic(t) for t in s.topics],
                now_ms=self.wall_ms(),
                request_timeout_ms=s.request_timeout_ms,
            )
        except Exception as exc:
            self.log.warning(
                "kafka_lag_unavailable", extra={"ctx": {"group": s.lag_group, "error": f"{type(exc).__name__}: {exc}"}}
            )
            return None
        self.lag = reading
        self.log.info(
            "kafka_lag",
            extra={
                "ctx": {
                    "group": s.lag_group,
                    "kafka_lag_ms": reading.lag_ms,
                    "lag_records": reading.lag_records,
                    "by_topic": {codec.short_topic(s.topic_prefix, k): v for k, v in reading.by_topic().items()},
                    "buffer_depth": len(self._buf),
                    "dropped_total": self.n.dropped,
                    "broker_reachable": self.broker_reachable,
                }
            },
        )
        if self.alarm.observe(reading.at_ms, reading.lag_ms):
            self.log.warning(
                "alert",
                extra={
                    "ctx": {
                        "kind": "kafka_lag",
                        "at_ms": reading.at_ms,
                        "kafka_lag_ms": reading.lag_ms,
                        "group": s.lag_group,
                        "text": f"Kafka consumer group {s.lag_group} lags {reading.lag_ms} ms "
                        f"(above {s.lag_alert_ms} ms for {s.lag_alert_minutes:g} min)",
                    }
                },
            )
        return reading

    async def _lag_loop(self) -> None:
        while True:
            await self._measure()
            await asyncio.sleep(self.settings.lag_interval_s)

    async def _subscribe(self, name: str, handler: Handler) -> None:
        sub = self._subs.get(name)
        if sub is None:
            sub = _Subscription(name, self.settings, self.log)
            await sub.start()
            self._subs[name] = sub
        sub.handlers.append(handler)

    async def _unsubscribe(self, name: str, handler: Handler) -> None:
        sub = self._subs.get(name)
        if sub is not None and handler in sub.handlers:
            sub.handlers.remove(handler)
            if not sub.handlers:
                del self._subs[name]
                await sub.stop()


class _Subscription:
    """Reads one topic from its end at subscription (no group) and calls the handlers in order."""

    def __init__(self, name: str, settings: KafkaSettings, log: logging.Logger) -> None:
        self.name = name
        self.settings = settings
        self.log = log
        self.handlers: list[Handler] = []
        self.consumer: Any = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        c = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            request_timeout_ms=self.settings.request_timeout_ms,
        )
        await c.start()
        await c.topics()
        parts = c.partitions_for_topic(self.name) or set()
        if not parts:
            await c.stop()
            raise LookupError(f"topic {self.name} does not exist (create it first: docs/events.md)")
        tps = [TopicPartition(self.name, p) for p in sorted(parts)]
        c.assign(tps)
        await c.seek_to_end(*tps)
        for tp in tps:
            await c.position(tp)
        self.consumer = c
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"kafka-sub-{self.name}")

    async def _run(self) -> None:
        short = codec.short_topic(self.settings.topic_prefix, self.name)
        while True:
            try:
                got = await self.consumer.getmany(timeout_ms=200)
            except Exception:  # the broker went away: aiokafka reconnects, we poll again
                self.log.warning("event_subscription_fetch_failed", extra={"ctx": {"topic": self.name}}, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for _tp, records in got.items():
                for r in records:
                    event = codec.decode(r.value)
                    for h in list(self.handlers):
                        try:
                            h(short, event)
                        except Exception:  # a broken subscriber must not stop the others
                            self.log.exception("event handler failed on topic %s", short)

    async def caught_up(self, deadline: float) -> bool:
        c = self.consumer
        tps = list(c.assignment())
        ends = await c.end_offsets(tps)
        while time.monotonic() < deadline:
            positions = [await c.position(tp) for tp in tps]
            if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                return True
            await asyncio.sleep(0.01)
        return False

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
