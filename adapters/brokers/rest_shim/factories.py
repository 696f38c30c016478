"""Build the shim client from the application config."""

from __future__ import annotations

from typing import Any

from adapters.brokers.rest_shim.client import ShimBroker
from adapters.brokers.rest_shim.config import ShimClientConfig


def make_shim_broker(config: Any, *, url: str | None = None, token: str | None = None) -> ShimBroker:
    b = config.broker
    return ShimBroker(ShimClientConfig(url=url or b.shim_url, token=token if token is not None else b.shim_token))
