"""Compliance checks: defaults are clean; each crossing is named with its setting."""

from __future__ import annotations

import attrs

from composition.config import load_config
from composition.settings import compliance_settings
from domain.compliance import ComplianceSettings, check


def base() -> ComplianceSettings:
    return compliance_settings(load_config(env_file=None, environ={}))


def test_default_configuration_is_inside_the_rules() -> None:
    s = base()
    assert s.scan_interval_seconds == 120 and s.max_signals_per_hour == 10
    assert check(s) == []


def test_each_crossing_is_reported_with_its_setting() -> None:
    cases = {
        "tick_scalping": attrs.evolve(base(), scan_interval_seconds=59),
        "hyperactivity": attrs.evolve(base(), max_signals_per_hour_high=13),
        "short_duration": attrs.evolve(base(), horizon_minutes=1.0),
        "latency_dependence": attrs.evolve(base(), latency_sla_ms=50),
        "gambling": attrs.evolve(base(), risk_per_trade_pct=2.6),
        "exploiting_feed_errors": attrs.evolve(base(), trades_during_outages=True),
    }
    for code, settings in cases.items():
        assert [f.code for f in check(settings)] == [code], code


def test_boundaries_are_inclusive_of_the_safe_side() -> None:
    s = attrs.evolve(
        base(),
        scan_interval_seconds=60,
        max_signals_per_hour=12,
        horizon_minutes=2.0,
        latency_sla_ms=100,
        risk_per_trade_pct=2.5,
    )
    assert check(s) == []


def test_multiple_accounts() -> None:
    two = attrs.evolve(base(), accounts_running_strategy=2)
    assert [f.code for f in check(two)] == ["identical_strategy_accounts"]
    hedged = attrs.evolve(two, opposite_positions_across_accounts=True)
    assert [f.code for f in check(hedged)] == ["cross_account_hedging", "identical_strategy_accounts"]


def test_env_values_flow_through_settings_from() -> None:
    cfg = load_config(env_file=None, environ={"SCAN_INTERVAL_SECONDS": "30", "MAX_SIGNALS_PER_HOUR": "40"})
    assert [f.setting for f in check(compliance_settings(cfg))] == ["SCAN_INTERVAL_SECONDS", "MAX_SIGNALS_PER_HOUR"]
