"""A real domain ExecutionModel built from SYNTHETIC cost samples (made-up numbers, not measured data),
for mechanics tests of the paper broker."""

from __future__ import annotations

import datetime as dt

import numpy as np

from domain.execution_costs import Distribution, ExecutionModel, ExecutionProfile
from domain.market import Session


def synthetic_model(
    pairs: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "BNB/USDT"), latency_sla_ms: float = 500.0
) -> ExecutionModel:
    rng = np.random.default_rng(7)
    profiles = []
    for pair in pairs:
        for session in Session:
            spread = Distribution.from_samples(rng.gamma(2.0, 1.5, 500))  # ~3 bps mean, synthetic
            slip = Distribution.from_samples(rng.exponential(0.8, 500))  # ~0.8 bps mean, synthetic
            profiles.append(
                ExecutionProfile(pair=pair, session=session, spread=spread, slippage=slip, source="synthetic-test")
            )
    return ExecutionModel(
        profiles=tuple(profiles), source="synthetic-test", as_of=dt.date(2024, 1, 1), latency_sla_ms=latency_sla_ms
    )
