"""InitProducerId v3 for aiokafka's idempotent producer.

aiokafka 0.14 only knows InitProducerId v0, which carries no producer id or epoch. Brokers that
follow KIP-360 (Kafka 2.5+ clients send v3+) read those fields as "new producer" only when they are
-1; tansu's object-store engine rejects a v0 request outright (UnknownServerError), so
`enable_idempotence=True` could not start at all. This module adds the v3 request (flexible
encoding, producer id/epoch -1: a new idempotent producer) to the request aiokafka's sender
builds; the connection's ApiVersions negotiation still picks v0 for a broker without v3.
"""

from __future__ import annotations

from typing import Any

import aiokafka.producer.sender as _sender
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.transaction import InitProducerIdRequest_v0
from aiokafka.protocol.types import CompactString, Int16, Int32, Int64, Schema, TaggedFields


class InitProducerIdResponse_v3(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 22
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest_v3(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 22
    API_VERSION = 3
    RESPONSE_TYPE = InitProducerIdResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("transaction_timeout_ms", Int32),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("tags", TaggedFields),
    )


class InitProducerIdRequest(Request[InitProducerIdRequest_v0 | InitProducerIdRequest_v3]):  # type: ignore[misc]
    """Drop-in for aiokafka.protocol.transaction.InitProducerIdRequest with v3 added."""

    API_KEY = 22

    def __init__(self, transactional_id: str | None, transaction_timeout_ms: int) -> None:
        self._transactional_id = transactional_id
        self._transaction_timeout_ms = transaction_timeout_ms

    def build(self, request_struct_class: type[Any]) -> Any:
        if request_struct_class is InitProducerIdRequest_v3:
            return request_struct_class(self._transactional_id, self._transaction_timeout_ms, -1, -1, {})
        return request_struct_class(self._transactional_id, self._transaction_timeout_ms)


def install() -> None:
    """Make aiokafka's sender build the v0|v3 request (idempotent: safe to call again)."""
    _sender.InitProducerIdRequest = InitProducerIdRequest
