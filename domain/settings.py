"""The kernel's settings: one frozen value every consumer of a trading decision reads.

`composition.settings.kernel_settings(config)` is the only place that turns the application config
into this value. The live desk and scan cycle, the backtest engine, the walk-forward periods, the
challenge simulator and the training gates all take their rules, policy, tiers, ensemble weights,
costs, sizing and position limits from it, so no two of them can disagree on a setting.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.ftmo import FtmoRules
from domain.policy import PolicyConfig
from domain.signals import Tier, TierThresholds


@attrs.frozen
class PositionLimits:
    """How many positions may be open at once, in all and per pair (a new order beyond is blocked)."""

    max_open: int = 3
    max_per_pair: int = 1

    def __attrs_post_init__(self) -> None:
        if self.max_open < 1 or self.max_per_pair < 1:
            raise ValueError("position limits must be at least 1")

    @classmethod
    def unlimited(cls) -> PositionLimits:
        """No limit: the default of a desk or engine built by hand (the product's come from the config)."""
        return cls(NO_LIMIT, NO_LIMIT)


NO_LIMIT = 1 << 30
DEFAULT_LOOKBACK_BARS = 300  # closed bars a live cycle loads when its models need no more


def live_lookback(min_bars: int = 0) -> int:
    """The live scan's window, which the backtest engine's look-back repeats: DEFAULT_LOOKBACK_BARS, or
    the closed bars trained models need (their features' warm-up plus a full window)."""
    return max(DEFAULT_LOOKBACK_BARS, int(min_bars))


@attrs.frozen
class KernelSettings:
    """Everything the per-bar decision needs that comes from configuration.

    `ensemble_weights` are the configured weights; `weights_for(names)` applies the one fallback
    rule (equal weights when none of the models present has a configured weight, e.g. the baseline
    alone). `fee_bps` is the commission per side and `latency_ms` the decision-to-order latency
    the cost model penalises above its SLA: the guard's worst case, the backtest's fills and the
    gates' expectancy all charge them.
    """

    rules: FtmoRules = attrs.field(factory=FtmoRules)
    policy: PolicyConfig = attrs.field(factory=PolicyConfig)
    thresholds: TierThresholds = attrs.field(factory=TierThresholds)
    hysteresis_scans: int = 2
    ensemble_weights: EnsembleWeights = attrs.field(factory=lambda: EnsembleWeights({"lstm": 0.5, "transformer": 0.5}))
    confidence_bias: float = 0.05
    risk_pct: float = 0.5
    fee_bps: float = 3.25
    latency_ms: float = 250.0
    horizon_bars: int = 3
    kill_switch: bool = False
    limits: PositionLimits = attrs.field(factory=PositionLimits)
    flatten_on_floor: bool = True
    emit_min_tier: Tier = Tier.LOW
    seed: int = 42

    def weights_for(self, names: Sequence[str]) -> EnsembleWeights:
        """The configured weights, or equal weights when none of `names` has a positive one."""
        names = [n for n in names if n]
        if not names:
            return self.ensemble_weights
        if any(self.ensemble_weights.as_dict().get(n, 0.0) > 0 for n in names):
            return self.ensemble_weights
        return EnsembleWeights({n: 1.0 / len(names) for n in names})

    def confidence_for(self, names: Sequence[str]) -> ConfidenceParams:
        """The confidence parameters for an ensemble of the models `names`."""
        return ConfidenceParams(weights=self.weights_for(names), bias=self.confidence_bias)
