"""The Kafka event bus against a real Kafka-protocol broker (tansu on 127.0.0.1, tests/integration/events/tansu.py).

A consumer joins its group in about a second here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from adapters.events.consumer import ConsumedEvent, tail
from adapters.events.kafka import KafkaEventBus, KafkaSettings
from adapters.events.lag import LagAlarm, measure_lag
from ports.event_bus import TOPICS
from tests.integration.events.proxy import FlakyProxy
from tests.integration.events.tansu import TansuBroker, free_port, shared_broker, unique_prefix

SESSION_MS = 300


def make_bus(bootstrap: str, prefix: str, log: logging.Logger | None = None, **kw: Any) -> KafkaEventBus:
    wall_ms = kw.pop("wall_ms", None)
    settings = KafkaSettings(
        bootstrap,
        topic_prefix=prefix,
        lag_group=kw.pop("lag_group", ""),
        request_timeout_ms=kw.pop("request_timeout_ms", 2_000),
        reconnect_max_s=0.3,
        session_timeout_ms=1_000,
        **kw,
    )
    extra = {"wall_ms": wall_ms} if wall_ms is not None else {}
    return KafkaEventBus(settings, mode="dryrun", log=log, **extra).start()


def consume(bootstrap: str, topic: str, group: str, n: int | None = None, idle_s: float = 1.5) -> list[ConsumedEvent]:
    got: list[ConsumedEvent] = []
    asyncio.run(
        tail(
            bootstrap,
            topic,
            group=group,
            from_beginning=True,
            on_event=got.append,
            max_events=n,
            idle_timeout_s=idle_s,
            session_timeout_ms=SESSION_MS,
        )
    )
    return got


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, msg: str) -> list[dict[str, Any]]:
        return [getattr(r, "ctx", {}) for r in self.records if r.getMessage() == msg]


def logger() -> tuple[logging.Logger, Lines]:
    log = logging.getLogger(f"test_kafka.{unique_prefix()}")
    lines = Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    return log, lines


def test_kafka_publish_and_consume_through_a_group_that_commits() -> None:
    broker = shared_broker()
    prefix = unique_prefix()
    broker.create_topics([prefix + t for t in TOPICS])
    bus = make_bus(broker.bootstrap, prefix)
    for i in range(5):
        bus.publish("signals", {"signal_id": f"s{i}", "pair": "BTC/USDT" if i % 2 else "ETH/USDT", "n": i})
    bus.publish("blocks", {"pair": "BTC/USDT", "reason": "hysteresis", "mode": "live"})
    assert bus.flush(10)
    assert bus.status()["delivered"] == 6
    bus.close()

    group = f"g-{prefix}"
    first = consume(broker.bootstrap, prefix + "signals", group, n=3)
    rest = consume(broker.bootstrap, prefix + "signals", group, n=2)  # resumes after the committed offset
    assert [e.payload["n"] for e in first] == [0, 1, 2] and [e.payload["n"] for e in rest] == [3, 4]
    assert consume(broker.bootstrap, prefix + "signals", group, idle_s=0.5) == []
    e = first[1]
    assert e.key == "BTC/USDT" and e.payload["schema_version"] == 1 and e.payload["mode"] == "dryrun"
    blocks = consume(broker.bootstrap, prefix + "blocks", group, n=1)
    assert blocks[0].payload["mode"] == "live"  # the event's own mode tag wins


def test_kafka_keeps_each_pairs_order_across_partitions() -> None:
    broker = shared_broker()
    prefix = unique_prefix()
    broker.create_topics([prefix + "signals"], partitions=3)
    bus = make_bus(broker.bootstrap, prefix)
    pairs = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT"]
    for seq in range(15):
        for p in pairs:
            bus.publish("signals", {"pair": p, "seq": seq})
    assert bus.flush(10)
    bus.close()
    got = consume(broker.bootstrap, prefix + "signals", f"g-{prefix}", n=60)
    seqs: dict[str, list[int]] = defaultdict(list)
    parts: dict[str, set[int]] = defaultdict(set)
    for e in got:
        seqs[e.payload["pair"]].append(e.payload["seq"])
        parts[e.payload["pair"]].add(e.partition)
    assert {p: s for p, s in seqs.items()} == {p: list(range(15)) for p in pairs}
    assert all(len(v) == 1 for v in parts.values())  # key = pair: one partition per pair
    assert len({e.partition for e in got}) > 1  # and the pairs really were spread


def test_kafka_idempotent_producer_stores_a_retried_batch_once() -> None:
    """The proxy lets the broker store a Produce request and loses its answer, so the client retries
    the same batch. Without idempotence that stores two copies (the control); the bus stores one."""
    proxy_port = free_port()
    broker = TansuBroker(advertised_port=proxy_port).start()
    proxy = FlakyProxy(broker.port, proxy_port).start()
    try:
        prefix = unique_prefix()
        broker.create_topics([prefix + t for t in ("signals", "control")])

        async def control() -> None:
            p = AIOKafkaProducer(
                bootstrap_servers=broker.bootstrap,
                enable_idempotence=False,
                acks="all",
                request_timeout_ms=3_000,
                retry_backoff_ms=50,
            )
            await p.start()
            try:
                proxy.drop_left = 1
                await p.send_and_wait(prefix + "control", b'{"n": 1}', key=b"BTC/USDT")
            finally:
                await p.stop()

        asyncio.run(control())
        assert proxy.dropped == 1
        assert len(consume(broker.bootstrap, prefix + "control", f"c-{prefix}", n=3, idle_s=0.7)) == 2

        bus = make_bus(broker.bootstrap, prefix, request_timeout_ms=3_000)
        assert bus.flush(5)  # connected
        proxy.drop_left = 1
        bus.publish("signals", {"pair": "BTC/USDT", "signal_id": "once"})
        assert bus.flush(15), bus.status()
        assert proxy.dropped == 2  # the bus's first Produce answer was lost too
        got = consume(broker.bootstrap, prefix + "signals", f"g-{prefix}", n=2, idle_s=0.7)
        assert [e.payload["signal_id"] for e in got] == ["once"]
        assert bus.status()["delivered"] == 1 and bus.status()["dropped"] == 0
        bus.close()
    finally:
        proxy.stop()
        broker.stop()


def test_kafka_broker_stopped_mid_replay_trading_continues_and_every_event_is_accounted() -> None:
    from tests.unit.services.conftest import System

    broker = TansuBroker().start()
    prefix = unique_prefix()
    topics = [prefix + t for t in TOPICS]
    broker.create_topics(topics)
    log, lines = logger()
    bus = make_bus(broker.bootstrap, prefix, log=log, buffer_size=10, request_timeout_ms=1_000)
    system = System()
    system.cycle.bus = bus
    try:
        reports = [system.scan() for _ in range(5)]
        assert bus.flush(10)
        delivered_before = bus.status()["delivered"]
        assert delivered_before == bus.status()["published"] > 0

        broker.stop()
        reports += [system.scan() for _ in range(25)]  # the cycles go on while Kafka is gone
        deadline = time.monotonic() + 10
        while bus.status()["broker_reachable"] is not False and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bus.status()["broker_reachable"] is False
        assert bus.status()["dropped"] > 0 and bus.status()["buffer_depth"] <= 10

        broker.start()  # same port, empty memory storage
        broker.create_topics(topics)
        reports += [system.scan() for _ in range(5)]
        assert bus.flush(20), bus.status()
        s = bus.status()
    finally:
        bus.close()

    try:
        assert len(reports) == 35 and all(r is not None for r in reports)
        signals = [sig.signal_id for r in reports for sig in r.signals]
        assert signals and [sig.signal_id for sig in system.log.signals()] == signals  # the outbox has every one
        assert len(system.log.blocks()) == sum(len(r.blocks) for r in reports)
        assert s["broker_reachable"] is True and s["reconnects"] >= 1 and s["buffer_depth"] == 0
        assert s["published"] == s["delivered"] + s["dropped"]
        assert lines.named("event_bus_dropped") and lines.named("event_bus_unreachable")
        after = [
            e for t in ("signals", "blocks") for e in consume(broker.bootstrap, prefix + t, f"g-{prefix}", idle_s=0.7)
        ]
        assert len(after) == s["delivered"] - delivered_before  # what the new broker got = what was acked after
        last_at = reports[-1].at_ms
        assert any(e.payload.get("at_ms", e.payload.get("created_at_ms")) == last_at for e in after)
    finally:
        broker.stop()


def test_kafka_lag_is_the_age_of_the_oldest_unconsumed_record() -> None:
    broker = shared_broker()
    prefix = unique_prefix()
    topic = prefix + "signals"
    broker.create_topics([topic])
    base = 1_800_000_000_000

    async def scenario() -> dict[str, Any]:
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await p.start()
        for i in range(10):
            await p.send_and_wait(topic, b"{}", key=b"BTC/USDT", timestamp_ms=base + i * 1_000)
        await p.stop()
        tp = TopicPartition(topic, 0)
        c = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"down-{prefix}", enable_auto_commit=False)
        await c.start()
        c.assign([tp])
        await c.commit({tp: 4})
        now = base + 60_000
        out = {
            "backlog": await measure_lag(broker.bootstrap, f"down-{prefix}", [topic, prefix + "absent"], now_ms=now),
            "never": await measure_lag(broker.bootstrap, f"never-{prefix}", [topic], now_ms=now),
        }
        await c.commit({tp: 10})
        out["caught_up"] = await measure_lag(broker.bootstrap, f"down-{prefix}", [topic], now_ms=now)
        await c.stop()
        return out

    r = asyncio.run(scenario())
    backlog = r["backlog"]
    assert [(p.committed, p.high_watermark, p.lag_records) for p in backlog.partitions] == [(4, 10, 6)]
    assert backlog.lag_ms == 60_000 - 4_000  # record 4 is the oldest the group has not consumed
    assert r["never"].lag_ms == 60_000 and r["never"].lag_records == 10
    assert r["caught_up"].lag_ms == 0 and r["caught_up"].lag_records == 0


def test_kafka_lag_alert_fires_once_after_five_minutes_above_one_second_on_a_fake_clock() -> None:
    broker = shared_broker()
    prefix = unique_prefix()
    topic = prefix + "signals"
    broker.create_topics([prefix + t for t in TOPICS])
    group = f"down-{prefix}"
    clock = {"ms": 1_800_000_000_000}
    log, lines = logger()
    bus = make_bus(
        broker.bootstrap,
        prefix,
        log=log,
        lag_group=group,
        lag_interval_s=3_600,
        lag_alert_ms=1_000,
        lag_alert_minutes=5,
        wall_ms=lambda: clock["ms"],
    )
    try:
        bus.publish("signals", {"pair": "BTC/USDT", "n": 1})  # stamped with the fake clock
        assert bus.flush(10)
        t0 = clock["ms"]

        def at(offset_ms: int) -> int | None:
            clock["ms"] = t0 + offset_ms
            reading = bus.measure_lag_now()
            assert reading is not None
            return reading.lag_ms

        assert at(500) == 500  # below the threshold
        assert at(2_000) == 2_000  # above: the episode starts here
        assert at(2_000 + 4 * 60_000) is not None and not lines.named("alert")
        at(2_000 + 5 * 60_000 - 1)
        assert not lines.named("alert")
        at(2_000 + 5 * 60_000)
        at(2_000 + 6 * 60_000)
        alerts = lines.named("alert")
        assert len(alerts) == 1 and alerts[0]["kind"] == "kafka_lag" and alerts[0]["group"] == group
        assert bus.status()["lag_alert"] is True and bus.status()["kafka_lag_ms"] == 2_000 + 6 * 60_000
        assert lines.named("kafka_lag")[-1]["kafka_lag_ms"] == 2_000 + 6 * 60_000

        consume(broker.bootstrap, topic, group, idle_s=0.5)  # the downstream group catches up
        assert at(7 * 60_000) == 0 and bus.status()["lag_alert"] is False
        bus.publish("signals", {"pair": "BTC/USDT", "n": 2})  # a new backlog: a new episode
        assert bus.flush(10)
        at(8 * 60_000)
        at(13 * 60_000)
        assert len(lines.named("alert")) == 2
    finally:
        bus.close()


def test_kafka_lag_alarm_rule() -> None:
    a = LagAlarm.of_minutes(1_000, 5)
    assert [a.observe(t * 60_000, 5_000) for t in range(7)] == [False] * 5 + [True, False]
    assert a.observe(7 * 60_000, None) is False and a.active  # unknown keeps the episode
    assert a.observe(8 * 60_000, 1_000) is False and not a.active  # at the threshold: over
    assert a.observe(9 * 60_000, 2_000) is False
    assert a.observe(13 * 60_000, 2_000) is False  # 4 min only
    assert a.observe(14 * 60_000, 2_000) is True and a.episodes == 2
    b = LagAlarm.of_minutes(1_000, 5)
    seq = [b.observe(t * 60_000, 5_000 if t % 3 else 0) for t in range(30)]  # never 5 min in a row
    assert not any(seq)


def test_kafka_bus_without_a_broker_never_blocks_drops_the_oldest_and_reports_degraded() -> None:
    from adapters.http.healthz import HealthInputs, evaluate

    log, lines = logger()
    bus = make_bus(f"127.0.0.1:{free_port()}", unique_prefix(), log=log, buffer_size=5)  # nobody listens there
    for i in range(12):  # each returns at once: publishing only appends to the buffer
        bus.publish("signals", {"pair": "BTC/USDT", "n": i})
    deadline = time.monotonic() + 5
    while bus.status()["broker_reachable"] is not False and time.monotonic() < deadline:
        time.sleep(0.02)
    s = bus.status()
    assert s["broker_reachable"] is False and s["published"] == 12 and s["delivered"] == 0
    assert s["buffer_depth"] == 5 and s["dropped"] == 7  # the 7 oldest went
    assert lines.named("event_bus_dropped")[0]["dropped_total"] == 1  # the first drop is logged at once
    code, body = evaluate(
        HealthInputs(
            now_ms=1,
            started_at_ms=0,
            last_cycle_at_ms=1,
            interval_s=120,
            stale_after_s=300,
            checks={"db": True, "broker": True, "event_bus": s["broker_reachable"]},
            detail={"event_bus": s},
        )
    )
    assert code == 200 and body["status"] == "degraded" and body["checks"]["event_bus"] == "down"
    assert body["event_bus"]["dropped"] == 7
    bus.close(timeout_s=0.5)
    assert bus.status()["dropped"] == 12  # what could not be delivered by the close is counted too
