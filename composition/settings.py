"""The one settings builder: `Config` -> `domain.settings.KernelSettings`.

Nothing else reads the risk, confidence, tier, ensemble, cost, sizing or position-limit fields of
the config: the runtime (desk, scan cycle), the backtest and its walk-forward periods, the
challenge simulator, `evaluate` and the training gates all receive the value built here
(tests/unit/composition/test_settings.py checks it for random configs).
"""

from __future__ import annotations

from collections.abc import Collection

from composition.config import Config, RiskConfig
from domain.compliance import ComplianceSettings, settings_from
from domain.confidence import EnsembleWeights
from domain.errors import ConfigError
from domain.ftmo import ChallengeKind, FtmoRules
from domain.policy import PolicyConfig
from domain.settings import KernelSettings, PositionLimits
from domain.signals import Tier, TierThresholds

# FTMO's own limits per challenge (percent of the initial balance) and our buffer as a share of them.
FTMO_LIMITS: dict[ChallengeKind, tuple[float, float]] = {
    ChallengeKind.TWO_STEP: (5.0, 10.0),
    ChallengeKind.ONE_STEP: (3.0, 10.0),
}
BUFFER_SHARE = 0.9


def ftmo_rules(risk: RiskConfig, challenge: str | None = None) -> FtmoRules:
    """The FTMO rules of `challenge` (default: the configured one) with the configured limits and
    buffers; a 0 limit is FTMO's for that challenge, a 0 buffer 90% of the limit."""
    kind = ChallengeKind(challenge or risk.challenge)
    daily_ftmo, total_ftmo = FTMO_LIMITS[kind]
    daily = float(risk.daily_loss_limit_pct) or daily_ftmo
    total = float(risk.max_loss_limit_pct) or total_ftmo
    daily_buf = float(risk.daily_buffer_pct) or round(BUFFER_SHARE * daily, 10)
    total_buf = float(risk.total_buffer_pct) or round(BUFFER_SHARE * total, 10)
    kw = {
        "daily_loss_limit_pct": daily,
        "max_loss_limit_pct": total,
        "daily_buffer_pct": daily_buf,
        "total_buffer_pct": total_buf,
    }
    initial = float(risk.initial_balance)
    try:
        if kind is ChallengeKind.ONE_STEP:
            return FtmoRules.one_step(initial, **kw)
        return FtmoRules.two_step(initial, **kw)
    except ValueError as exc:
        raise ConfigError(
            f"FTMO {kind.value} rules: {exc} (daily limit {daily:g}%, buffer {daily_buf:g}%; max loss {total:g}%, "
            f"buffer {total_buf:g}%): set DAILY_LOSS_BUFFER_PCT / TOTAL_LOSS_BUFFER_PCT at or below the limits"
        ) from None


def kernel_settings(config: Config, *, challenge: str | None = None, plugins: Collection[str] = ()) -> KernelSettings:
    """The frozen settings of the decision kernel for `config` (`challenge` overrides the configured
    FTMO challenge, as `challenge simulate --one-step` does; `plugins` are the enabled plugins' names,
    which choose the plan's weights when ENSEMBLE_WEIGHTS=auto). Raises ConfigError on a bad combination."""
    r = config.risk
    c = config.confidence
    b = config.backtest
    try:
        thresholds = TierThresholds(
            max(c.tier_low, c.threshold), max(c.tier_medium, c.threshold), max(c.tier_high, c.threshold)
        )
    except ConfigError as exc:
        raise ConfigError(f"confidence tiers: {exc}") from None
    policy = PolicyConfig(
        max_per_hour=r.max_signals_per_hour,
        max_per_hour_by_tier={Tier.HIGH: r.max_signals_per_hour_high},
        backoff_losses=r.backoff_losses,
        backoff_window_ms=r.backoff_window_minutes * 60_000,
        backoff_risk_reduction_pct=r.backoff_risk_reduction_pct,
    )
    return KernelSettings(
        rules=ftmo_rules(r, challenge),
        policy=policy,
        thresholds=thresholds,
        hysteresis_scans=int(c.hysteresis_scans),
        ensemble_weights=EnsembleWeights.parse(c.ensemble_weights, plugins),
        confidence_bias=float(c.conservative_bias),
        risk_pct=float(r.risk_per_trade_pct),
        fee_bps=float(b.fee_bps),
        latency_ms=float(b.latency_ms),
        horizon_bars=int(b.horizon_bars),
        kill_switch=bool(r.kill_switch),
        limits=PositionLimits(int(r.max_open_positions), int(r.max_positions_per_pair)),
        flatten_on_floor=bool(r.flatten_on_floor),
        seed=int(config.seed),
    )


def compliance_settings(config: Config) -> ComplianceSettings:
    """The compliance checks' view of the config, with the resolved FTMO daily limit."""
    return settings_from(config, daily_loss_limit_pct=ftmo_rules(config.risk).daily_loss_limit_pct)
