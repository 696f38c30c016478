"""The wire format of events on Kafka: topic names, keys and JSON values.

Value: the publisher's payload as one JSON object plus `schema_version` and `mode` (the run's mode
when the payload carries none), UTF-8, keys sorted. Key: the payload's `pair` (so one pair's events
land on one partition and stay in order), no key when the event names no pair.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1


def topic_name(prefix: str, topic: str) -> str:
    return f"{prefix}{topic}"


def short_topic(prefix: str, name: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def encode(payload: Mapping[str, Any], mode: str) -> tuple[bytes | None, bytes]:
    """(key, value) for one event."""
    body = dict(payload)
    body["schema_version"] = SCHEMA_VERSION
    if not body.get("mode"):
        body["mode"] = mode
    pair = body.get("pair")
    key = str(pair).encode() if pair else None
    return key, json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def decode(value: bytes | None) -> dict[str, Any]:
    """The event object; a value that is not a JSON object becomes {"raw": text} (foreign producers)."""
    if value is None:
        return {}
    try:
        out = json.loads(value)
    except ValueError:
        return {"raw": value.decode("utf-8", "replace")}
    return out if isinstance(out, dict) else {"raw": out}
