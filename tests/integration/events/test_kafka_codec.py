"""The wire format of Kafka events (adapters/events/codec.py)."""

from __future__ import annotations

import json

from adapters.events import codec


def test_kafka_value_carries_schema_version_and_mode_key_is_the_pair() -> None:
    key, value = codec.encode({"pair": "ETH/USDT", "conf": 0.61, "models": ["lstm:v1"]}, "live")
    body = json.loads(value)
    assert key == b"ETH/USDT"
    assert body == {"pair": "ETH/USDT", "conf": 0.61, "models": ["lstm:v1"], "schema_version": 1, "mode": "live"}
    assert list(body) == sorted(body)  # keys sorted: the same event is the same bytes
    _, own_mode = codec.encode({"pair": "BTC/USDT", "mode": "dryrun"}, "live")
    assert json.loads(own_mode)["mode"] == "dryrun"  # the event's own tag wins over the run's
    no_key, _ = codec.encode({"kind": "cycle"}, "dryrun")
    assert no_key is None


def test_kafka_decode_round_trips_and_tolerates_foreign_values() -> None:
    _, value = codec.encode({"pair": "BTC/USDT", "n": 3}, "dryrun")
    assert codec.decode(value)["n"] == 3
    assert codec.decode(b"not json") == {"raw": "not json"}
    assert codec.decode(b"[1, 2]") == {"raw": [1, 2]}
    assert codec.decode(None) == {}
    assert codec.topic_name("prod.", "signals") == "prod.signals"
    assert codec.short_topic("prod.", "prod.signals") == "signals" and codec.short_topic("", "x") == "x"
