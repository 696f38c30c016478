"""Topic administration: create the bus's topics explicitly (partitions, retention) before first use.

Brokers that auto-create topics pick their own partition count and retention (tansu: 4 partitions),
so `trading-ai events create-topics` and the tests create them with the settings documented in
docs/events.md.
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    retention_ms: int | None = DEFAULT_RETENTION_MS,
    request_timeout_ms: int = 10_000,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created (existing ones are left alone)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=request_timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        configs = {"retention.ms": str(retention_ms)} if retention_ms else {}
        new = [
            NewTopic(n, num_partitions=partitions, replication_factor=replication_factor, topic_configs=configs)
            for n in dict.fromkeys(names)
            if n not in existing
        ]
        if new:
            resp = await admin.create_topics(new)
            errors = [(t, code, msg) for t, code, msg in resp.topic_errors if code not in (0, 36)]  # 36: exists
            if errors:
                raise RuntimeError(f"could not create topics: {errors}")
        return [t.name for t in new]
    finally:
        await admin.close()
