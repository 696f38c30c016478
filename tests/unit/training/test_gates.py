"""training.gates: each gate's verdict at and around its threshold."""

from __future__ import annotations

import math
from typing import Any

from training.gates import GateConfig, all_passed, evaluate_gates, failures


def _kw(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        emitted_precision=0.70,
        emitted_count=500,
        emitted_coverage=0.1,
        tier_mae=0.03,
        leakage_ok=True,
        leakage_detail="ok",
        val_accuracy=0.56,
        best_baseline="lightgbm",
        best_baseline_val_accuracy=0.54,
        net_bps=3.0,
        ci_low_bps=0.5,
        ci_high_bps=5.5,
        cost_bps=10.0,
        test_accuracy=0.55,
    )
    base.update(over)
    return base


def _by_name(**over: Any) -> dict[str, bool]:
    return {r.name: r.passed for r in evaluate_gates(GateConfig(), **_kw(**over))}


def test_all_pass_when_every_figure_clears_its_bar() -> None:
    res = evaluate_gates(GateConfig(), **_kw())
    assert all_passed(res) and failures(res) == []


def test_precision_needs_the_bar_and_enough_signals() -> None:
    assert _by_name(emitted_precision=0.68)["precision"]
    assert not _by_name(emitted_precision=0.679)["precision"]
    assert not _by_name(emitted_count=99)["precision"]
    assert not _by_name(emitted_precision=math.nan, emitted_count=0)["precision"]


def test_calibration_gate_and_nan_is_not_a_pass() -> None:
    assert _by_name(tier_mae=0.05)["calibration"]
    assert not _by_name(tier_mae=0.0501)["calibration"]
    assert not _by_name(tier_mae=math.nan)["calibration"]


def test_leakage_fails_on_guard_or_implausible_accuracy() -> None:
    assert not _by_name(leakage_ok=False)["leakage"]
    assert not _by_name(test_accuracy=0.61)["leakage"]


def test_must_strictly_beat_best_baseline_on_validation() -> None:
    assert not _by_name(val_accuracy=0.54)["beats_baselines"]
    assert _by_name(val_accuracy=0.5401)["beats_baselines"]


def test_expectancy_needs_ci_above_zero() -> None:
    assert not _by_name(net_bps=2.0, ci_low_bps=-0.1)["expectancy"]
    # two lucky signals with a tight "CI" are not an edge
    assert not _by_name(net_bps=31.0, ci_low_bps=21.0, emitted_count=2)["expectancy"]
    res = evaluate_gates(GateConfig(), **_kw(net_bps=-4.0, ci_low_bps=-9.0, ci_high_bps=1.0))
    assert not all_passed(res)
    assert any(
        f.startswith("expectancy: net -4.00 bps/signal after 10.00 bps costs on 500 signals") for f in failures(res)
    )
