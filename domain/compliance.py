"""Configuration checks against FTMO's prohibited trading practices (see docs/compliance.md).

Pure: the runtime builds `ComplianceSettings` from its config at start (`settings_from(config)`),
calls `check(settings)` and logs every finding as a warning (it does not refuse to start: the
operator may have a reason, and the findings are heuristics about how FTMO reviews accounts, not
rules FTMO publishes as numbers). Thresholds are this project's conservative reading, stated next
to each check.
"""

from __future__ import annotations

from typing import Any

import attrs

# Below a minute between decisions the system looks like tick scalping / HFT on review.
MIN_SCAN_INTERVAL_S = 60
# More than one new position per 5-minute bar on average reads as hyperactivity.
MAX_SIGNALS_PER_HOUR = 12
# Holding for less than about two minutes is the "short-duration trades" pattern.
MIN_HOLD_MINUTES = 2.0
# A latency budget this tight means the edge depends on speed, i.e. on feed latency.
MIN_LATENCY_SLA_MS = 100


@attrs.frozen
class ComplianceSettings:
    scan_interval_seconds: int
    max_signals_per_hour: int
    max_signals_per_hour_high: int
    risk_per_trade_pct: float
    daily_loss_limit_pct: float
    latency_sla_ms: float
    horizon_minutes: float = 15.0
    accounts_running_strategy: int = 1
    opposite_positions_across_accounts: bool = False
    trades_during_outages: bool = False


@attrs.frozen
class ComplianceFinding:
    code: str
    setting: str
    message: str


def settings_from(
    config: Any, horizon_minutes: float = 15.0, accounts: int = 1, daily_loss_limit_pct: float | None = None
) -> ComplianceSettings:
    """Read the relevant values from the application Config (duck-typed: domain imports no config).
    `daily_loss_limit_pct` is the resolved FTMO limit (composition.settings: 0 in the config means the
    challenge's own)."""
    return ComplianceSettings(
        scan_interval_seconds=int(config.runtime.scan_interval_seconds),
        max_signals_per_hour=int(config.risk.max_signals_per_hour),
        max_signals_per_hour_high=int(config.risk.max_signals_per_hour_high),
        risk_per_trade_pct=float(config.risk.risk_per_trade_pct),
        daily_loss_limit_pct=float(
            config.risk.daily_loss_limit_pct if daily_loss_limit_pct is None else daily_loss_limit_pct
        ),
        latency_sla_ms=float(config.runtime.latency_sla_ms),
        horizon_minutes=float(horizon_minutes),
        accounts_running_strategy=int(accounts),
    )


def check(s: ComplianceSettings) -> list[ComplianceFinding]:
    """Every setting that crosses one of the prohibited-practice lines, with what to change."""
    out: list[ComplianceFinding] = []
    if s.scan_interval_seconds < MIN_SCAN_INTERVAL_S:
        out.append(
            ComplianceFinding(
                "tick_scalping",
                "SCAN_INTERVAL_SECONDS",
                f"scan interval {s.scan_interval_seconds}s is below {MIN_SCAN_INTERVAL_S}s: sub-minute automated "
                "decisions look like tick scalping / HFT, which FTMO prohibits; use >= 60s (default 120s)",
            )
        )
    if max(s.max_signals_per_hour, s.max_signals_per_hour_high) > MAX_SIGNALS_PER_HOUR:
        out.append(
            ComplianceFinding(
                "hyperactivity",
                "MAX_SIGNALS_PER_HOUR",
                f"up to {max(s.max_signals_per_hour, s.max_signals_per_hour_high)} signals/hour exceeds "
                f"{MAX_SIGNALS_PER_HOUR}: excessive trade frequency is treated as server abuse / HFT; keep it <= "
                f"{MAX_SIGNALS_PER_HOUR} (default 10)",
            )
        )
    if s.horizon_minutes < MIN_HOLD_MINUTES:
        out.append(
            ComplianceFinding(
                "short_duration",
                "horizon",
                f"a {s.horizon_minutes:g}-minute horizon means positions held under {MIN_HOLD_MINUTES:g} minutes: "
                "the short-duration pattern FTMO flags as tick scalping; use >= 5 minutes (default 15)",
            )
        )
    if s.latency_sla_ms < MIN_LATENCY_SLA_MS:
        out.append(
            ComplianceFinding(
                "latency_dependence",
                "LATENCY_SLA_MS",
                f"a {s.latency_sla_ms:g} ms latency budget implies an edge that depends on speed; latency and "
                "price-feed arbitrage against FTMO's feed are prohibited. The system's edge must be directional "
                "over minutes; keep the SLA at hundreds of ms (default 500)",
            )
        )
    if s.risk_per_trade_pct > s.daily_loss_limit_pct / 2:
        out.append(
            ComplianceFinding(
                "gambling",
                "RISK_PER_TRADE_PCT",
                f"risking {s.risk_per_trade_pct:g}% per trade is more than half the {s.daily_loss_limit_pct:g}% "
                "daily loss limit: all-in sizing is the 'gambling' pattern FTMO voids accounts for; keep <= 1% "
                "(default 0.5%)",
            )
        )
    if s.accounts_running_strategy > 1 and s.opposite_positions_across_accounts:
        out.append(
            ComplianceFinding(
                "cross_account_hedging",
                "accounts",
                "opposite positions across accounts (group or reverse hedging) are prohibited; run one direction "
                "per signal on every account",
            )
        )
    if s.accounts_running_strategy > 1:
        out.append(
            ComplianceFinding(
                "identical_strategy_accounts",
                "accounts",
                f"the same strategy on {s.accounts_running_strategy} accounts counts toward FTMO's per-trader/"
                "per-strategy capital allocation cap; check the total allocated capital stays within it",
            )
        )
    if s.trades_during_outages:
        out.append(
            ComplianceFinding(
                "exploiting_feed_errors",
                "trades_during_outages",
                "trading through feed outages or off-market quotes exploits demo-feed errors, which is prohibited; "
                "block orders when the broker's quote is stale",
            )
        )
    return out
