"""Promotion gates: thresholds from config (plan defaults), each gate's verdict with its reason.

Where each gate is measured (and why):
- precision, tier MAE and expectancy on the TEST split: calibration is fitted on validation, so
  judging calibration on validation would grade the map on the data it was fitted on;
- beating the baselines on VALIDATION, as the plan says (test stays untouched by any choice);
- leakage: the feature causality check of this run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from domain.signals import Tier


@attrs.frozen
class GateConfig:
    min_precision: float = 0.68  # the plan's signal win-rate bar, per coin
    emit_min_tier: Tier = Tier.LOW  # tiers at or above this emit signals
    min_signals: int = 100  # fewer emitted test signals than this cannot pass (plan: 100+ trades)
    max_tier_mae: float = 0.05
    tier_min_count: int = 30  # tiers with fewer calls are not judged for calibration
    require_beats_baselines: bool = True
    require_positive_expectancy: bool = True
    suspicious_accuracy: float = 0.60  # overall test accuracy above this on 15-min crypto = hunt leakage


@attrs.frozen
class GateResult:
    name: str
    passed: bool
    value: float
    threshold: float
    reason: str


def _fmt(x: float, pct: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.2f}"


def evaluate_gates(
    cfg: GateConfig,
    *,
    emitted_precision: float,
    emitted_count: int,
    emitted_coverage: float,
    tier_mae: float,
    leakage_ok: bool,
    leakage_detail: str,
    val_accuracy: float,
    best_baseline: str,
    best_baseline_val_accuracy: float,
    net_bps: float,
    ci_low_bps: float,
    ci_high_bps: float,
    cost_bps: float,
    test_accuracy: float,
) -> list[GateResult]:
    out: list[GateResult] = []
    enough = emitted_count >= cfg.min_signals
    ok = enough and not math.isnan(emitted_precision) and emitted_precision >= cfg.min_precision
    why = (
        f"precision {_fmt(emitted_precision)} on {emitted_count} signals (coverage {_fmt(emitted_coverage)}) "
        f"at tier >= {cfg.emit_min_tier.name}"
    )
    if not enough:
        why += f"; fewer than {cfg.min_signals} signals"
    out.append(
        GateResult(
            "precision",
            ok,
            emitted_precision,
            cfg.min_precision,
            f"{why} {'>=' if ok else 'below'} {_fmt(cfg.min_precision)}",
        )
    )
    ok = not math.isnan(tier_mae) and tier_mae <= cfg.max_tier_mae
    out.append(
        GateResult(
            "calibration",
            ok,
            tier_mae,
            cfg.max_tier_mae,
            f"tier MAE {_fmt(tier_mae)} {'<=' if ok else 'above'} {_fmt(cfg.max_tier_mae)}"
            + (" (no tier with enough calls)" if math.isnan(tier_mae) else ""),
        )
    )
    suspicious = not math.isnan(test_accuracy) and test_accuracy > cfg.suspicious_accuracy
    ok = leakage_ok and not suspicious
    detail = leakage_detail + (
        f"; test accuracy {_fmt(test_accuracy)} is implausibly high for this horizon" if suspicious else ""
    )
    out.append(GateResult("leakage", ok, 0.0 if ok else 1.0, 0.0, detail))
    ok = (not cfg.require_beats_baselines) or (val_accuracy > best_baseline_val_accuracy)
    out.append(
        GateResult(
            "beats_baselines",
            ok,
            val_accuracy,
            best_baseline_val_accuracy,
            f"val accuracy {100 * val_accuracy:.2f}% vs best baseline {best_baseline} "
            f"{100 * best_baseline_val_accuracy:.2f}%",
        )
    )
    # a CI from a handful of signals means nothing: the same signal floor as the precision gate
    clears = not math.isnan(ci_low_bps) and ci_low_bps > 0
    ok = (not cfg.require_positive_expectancy) or (enough and clears)
    out.append(
        GateResult(
            "expectancy",
            ok,
            net_bps,
            0.0,
            f"net {_fmt(net_bps, False)} bps/signal after {_fmt(cost_bps, False)} bps costs on "
            f"{emitted_count} signals, 95% CI [{_fmt(ci_low_bps, False)}, {_fmt(ci_high_bps, False)}] "
            f"{'above' if clears else 'does not clear'} 0"
            + ("" if enough else f"; fewer than {cfg.min_signals} signals"),
        )
    )
    return out


def all_passed(results: list[GateResult]) -> bool:
    return bool(results) and all(r.passed for r in results)


def failures(results: list[GateResult]) -> list[str]:
    return [f"{r.name}: {r.reason}" for r in results if not r.passed]


def trade_gate(cfg: GateConfig, net_bps: Sequence[float] | np.ndarray, tests: int, q: float = 0.05) -> GateResult:
    """The trade-level gate beside the precision (0.68) gate: the trades the product's pipeline made
    on the test split (training.pipeline._emitted: the backtest's rules, measured costs, both
    commissions), mean
    net bps per trade with its lower bound after correcting for the `tests` cells the run grades
    (pairs x gated models). One-sided level q / tests (Bonferroni: a cell passing it is also selected
    by Benjamini-Hochberg over the same cells), at least `cfg.min_signals` trades
    (domain.multiple_testing.trade_gate: the research grid's rule)."""
    from domain.multiple_testing import corrected_lower_bound, mean_test
    from domain.multiple_testing import trade_gate as rule

    m = max(1, tests)
    t = mean_test(net_bps)
    low = corrected_lower_bound(t.mean, t.se, 1, m, q)
    res = rule(t, math.isfinite(low) and low > 0, low, min(1.0, t.p_one_sided * m), cfg.min_signals)
    ok = (not cfg.require_positive_expectancy) or res.passed
    return GateResult(
        "trade", ok, t.mean, 0.0, f"engine trades on the test split: {res.reason} (correction over {m} graded cells)"
    )
