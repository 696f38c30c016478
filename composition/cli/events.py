"""`trading-ai events`: the Kafka side of the event bus (EVENT_BUS=kafka, docs/events.md).

- `events tail TOPIC [--group G] [--from-beginning] [--json]`: print events as a downstream consumer in
  group G (default KAFKA_GROUP, the group whose lag the service measures), committing offsets.
- `events create-topics [--partitions N] [--retention-hours H]`: create the topics explicitly.
- `events lag [--group G] [--json]`: one `kafka_lag_ms` reading of the group.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from composition.cli.context import Context
from ports.event_bus import TOPICS, EventBusUnavailable


def register(sub: Any) -> None:
    p = sub.add_parser("events", help="Kafka topics of the runtime events: tail, create topics, lag")
    inner = p.add_subparsers(dest="events_command", metavar="SUBCOMMAND", required=True)

    t = inner.add_parser("tail", help="print a topic's events as a consumer-group member, committing offsets")
    t.add_argument("topic", choices=TOPICS, metavar="TOPIC", help="one of: " + ", ".join(TOPICS))
    t.add_argument("--group", metavar="G", help="consumer group (default KAFKA_GROUP)")
    t.add_argument(
        "--from-beginning",
        action="store_true",
        help="a group with no committed offset starts at the oldest record (else at the newest)",
    )
    t.add_argument("--json", action="store_true", help="one JSON object per event and line")
    t.add_argument("--max", type=int, metavar="N", help="stop after N events")
    t.add_argument("--idle-timeout", type=float, metavar="S", help="stop after S seconds without an event")
    t.set_defaults(handler=_tail)

    c = inner.add_parser("create-topics", help="create the bus's topics (KAFKA_TOPIC_PREFIX + each topic)")
    c.add_argument("--partitions", type=int, default=3, help="partitions per topic (default 3; key = pair)")
    c.add_argument("--replication-factor", type=int, default=1, help="replicas per partition (default 1)")
    c.add_argument("--retention-hours", type=float, default=168.0, help="retention.ms in hours (default 168)")
    c.set_defaults(handler=_create_topics)

    lag = inner.add_parser("lag", help="kafka_lag_ms of a consumer group: age of its oldest unconsumed record")
    lag.add_argument("--group", metavar="G", help="consumer group (default KAFKA_GROUP)")
    lag.add_argument("--json", action="store_true", help="print the reading as JSON")
    lag.set_defaults(handler=_lag)


def _settings(ctx: Context) -> Any:
    import logging

    from composition.events import kafka_settings

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # a refused connection is our one line, not a log storm
    return kafka_settings(ctx.config)


def _unavailable(settings: Any, exc: BaseException) -> EventBusUnavailable:
    text = str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
    return EventBusUnavailable(f"Kafka at {settings.bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS): {text}")


def _line(e: Any, short: str) -> str:
    at = datetime.fromtimestamp(e.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps(e.payload, sort_keys=True, separators=(",", ":"))
    return f"{at} {short} p{e.partition}@{e.offset} {e.key or '-'} {body}"


def _tail(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.events.consumer import ConsumedEvent, tail

    s = _settings(ctx)
    group = args.group or s.lag_group
    if not group:
        raise EventBusUnavailable("no consumer group: pass --group or set KAFKA_GROUP")
    topic = s.topic(args.topic)

    def show(e: ConsumedEvent) -> None:
        if args.json:
            print(
                json.dumps(
                    {
                        "topic": args.topic,
                        "partition": e.partition,
                        "offset": e.offset,
                        "key": e.key,
                        "timestamp_ms": e.timestamp_ms,
                        "event": e.payload,
                    },
                    sort_keys=True,
                ),
                flush=True,
            )
        else:
            print(_line(e, args.topic), flush=True)

    async def run() -> int:
        await _require_topic(s, topic)
        return await tail(
            s.bootstrap_servers,
            topic,
            group=group,
            from_beginning=args.from_beginning,
            on_event=show,
            max_events=args.max,
            idle_timeout_s=args.idle_timeout,
            session_timeout_ms=s.session_timeout_ms,
            request_timeout_ms=s.request_timeout_ms,
        )

    try:
        n = asyncio.run(run())
    except EventBusUnavailable:
        raise
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if type(exc).__module__.startswith("aiokafka"):
            raise _unavailable(s, exc) from exc
        raise
    print(f"{n} event(s) from {topic}, group {group} (offsets committed)", file=sys.stderr)
    return 0


async def _require_topic(s: Any, topic: str) -> None:
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=s.request_timeout_ms)
    try:
        await c.start()
    except Exception as exc:
        await c.stop()
        raise _unavailable(s, exc) from exc
    try:
        if topic not in await c.topics():
            raise EventBusUnavailable(
                f"topic {topic} does not exist on {s.bootstrap_servers} (create it: trading-ai events create-topics)"
            )
    finally:
        await c.stop()


def _create_topics(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.events.admin import ensure_topics

    s = _settings(ctx)
    names = [s.topic(t) for t in TOPICS]
    try:
        created = asyncio.run(
            ensure_topics(
                s.bootstrap_servers,
                names,
                partitions=args.partitions,
                replication_factor=args.replication_factor,
                retention_ms=int(args.retention_hours * 3_600_000),
            )
        )
    except Exception as exc:
        raise _unavailable(s, exc) from exc
    for n in names:
        print(f"{n}: {'created' if n in created else 'exists'}")
    return 0


def _lag(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.events.lag import measure_lag

    s = _settings(ctx)
    group = args.group or s.lag_group
    if not group:
        raise EventBusUnavailable("no consumer group: pass --group or set KAFKA_GROUP")
    try:
        r = asyncio.run(
            measure_lag(
                s.bootstrap_servers, group, [s.topic(t) for t in TOPICS], request_timeout_ms=s.request_timeout_ms
            )
        )
    except Exception as exc:
        raise _unavailable(s, exc) from exc
    if args.json:
        print(
            json.dumps(
                {
                    "group": group,
                    "kafka_lag_ms": r.lag_ms,
                    "lag_records": r.lag_records,
                    "at_ms": r.at_ms,
                    "partitions": [
                        {
                            "topic": p.topic,
                            "partition": p.partition,
                            "committed": p.committed,
                            "high_watermark": p.high_watermark,
                            "lag_records": p.lag_records,
                            "lag_ms": p.lag_ms,
                        }
                        for p in r.partitions
                    ],
                },
                sort_keys=True,
            )
        )
        return 0
    print(f"group {group}: kafka_lag_ms={r.lag_ms} unconsumed={r.lag_records}")
    for p in r.partitions:
        print(
            f"  {p.topic}[{p.partition}] committed={p.committed} high_watermark={p.high_watermark} "
            f"lag_records={p.lag_records} lag_ms={p.lag_ms}"
        )
    return 0
