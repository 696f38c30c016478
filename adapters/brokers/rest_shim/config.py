"""REST shim settings (server side and client side)."""

from __future__ import annotations

import attrs


@attrs.frozen
class ShimClientConfig:
    """`retries` applies to idempotent calls only (reads, order placement keyed by client order id,
    stop changes); closing a position is never retried blindly."""

    url: str = "http://127.0.0.1:8765"
    token: str = attrs.field(default="", repr=False)
    timeout_s: float = 10.0
    retries: int = 2
    backoff_s: float = 0.2


@attrs.frozen
class ShimServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = attrs.field(default="", repr=False)
