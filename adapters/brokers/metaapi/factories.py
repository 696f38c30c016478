"""Build a MetaApiBroker from the application config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.brokers.metaapi.config import MetaApiConfig
from adapters.brokers.metaapi.execution import MetaApiBroker


def make_metaapi_broker(
    config: Any, *, connection_factory: Callable[[Any], Any] | None = None, connect: bool = True
) -> MetaApiBroker:
    b = config.broker
    broker = MetaApiBroker(
        MetaApiConfig(token=b.metaapi_token, account_id=b.metaapi_account_id),
        initial_balance=config.risk.initial_balance,
        connection_factory=connection_factory,
    )
    if connect:
        broker.connect()
    return broker
