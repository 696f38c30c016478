"""MT5 adapter settings."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from adapters.brokers.symbols import FTMO_SYMBOLS


@attrs.frozen
class Mt5Config:
    """`magic` marks this system's orders in the terminal; `deviation` is the accepted slippage in
    points for market orders (MT5 requotes beyond it on instant-execution symbols)."""

    login: int = 0
    password: str = attrs.field(default="", repr=False)
    server: str = ""
    path: str | None = None
    magic: int = 20_250_101
    deviation: int = 50
    timeout_ms: int = 10_000
    symbol_map: Mapping[str, str] = attrs.field(factory=lambda: dict(FTMO_SYMBOLS))
