"""Paper broker settings."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from adapters.brokers.symbols import DEFAULT_SPECS
from domain.trading import SymbolSpec


@attrs.frozen
class PaperConfig:
    """`latency_ms` is the simulated decision-to-fill delay handed to the cost model (its latency SLA
    decides whether a penalty applies). `leverage` sets margin = notional / leverage. `state_path`, when
    set, keeps the account in a JSON file so a restarted runtime finds its positions again."""

    initial_balance: float = 100_000.0
    currency: str = "USD"
    seed: int = 42
    latency_ms: float = 150.0
    leverage: float = 2.0
    commission_per_lot: float = 0.0
    specs: Mapping[str, SymbolSpec] = attrs.field(factory=lambda: dict(DEFAULT_SPECS))
    state_path: str = ""

    def __attrs_post_init__(self) -> None:
        if self.initial_balance <= 0 or self.leverage <= 0 or self.latency_ms < 0:
            raise ValueError("paper broker: initial_balance and leverage must be positive, latency_ms >= 0")
