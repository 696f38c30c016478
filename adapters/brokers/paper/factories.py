"""Build a PaperBroker from the application config."""

from __future__ import annotations

import time
from typing import Any

from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import PriceSource
from adapters.brokers.paper.execution import CostModel, PaperBroker
from ports.clock import Clock


class WallClock:
    """Real time, for when the composition root passes no clock."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def make_paper_broker(
    config: Any, *, price_source: PriceSource, cost_model: CostModel, clock: Clock | None = None, state_path: str = ""
) -> PaperBroker:
    """`config` is the application Config; risk.initial_balance and seed carry over."""
    paper = PaperConfig(
        initial_balance=config.risk.initial_balance,
        seed=config.seed,
        latency_ms=float(getattr(config.broker, "paper_latency_ms", 150.0)),
        leverage=float(getattr(config.broker, "paper_leverage", 2.0)),
        state_path=state_path,
    )
    # A price source that also serves bars (LatestClose.bars) lets stops resolve on bar highs/lows.
    return PaperBroker(
        paper, price_source, cost_model, clock or WallClock(), bar_source=getattr(price_source, "bars", None)
    )
