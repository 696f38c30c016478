"""training.gates.trade_gate: the engine's trades, corrected for the cells a run grades."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from training.gates import GateConfig, trade_gate


def test_the_bound_tightens_with_the_number_of_graded_cells() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(4.0, 20.0, 300)  # SYNTHETIC net bps per trade: mean ~4, se ~1.15
    se = float(x.std(ddof=1) / np.sqrt(x.size))
    one, nine = trade_gate(GateConfig(), x, tests=1), trade_gate(GateConfig(), x, tests=9)
    low1 = float(x.mean()) - NormalDist().inv_cdf(1 - 0.05) * se
    low9 = float(x.mean()) - NormalDist().inv_cdf(1 - 0.05 / 9) * se
    assert one.name == "trade" and one.value == pytest.approx(float(x.mean()))
    assert one.passed == (low1 > 0) and nine.passed == (low9 > 0)
    assert f"{low9:+.2f}" in nine.reason and "9 graded cells" in nine.reason


def test_too_few_trades_or_a_loss_never_pass() -> None:
    assert not trade_gate(GateConfig(), np.full(99, 50.0) + np.arange(99) * 0.01, tests=1).passed
    assert not trade_gate(GateConfig(), -np.abs(np.random.default_rng(2).normal(5, 1, 500)), tests=1).passed
    assert not trade_gate(GateConfig(), np.zeros(0), tests=3).passed
    assert trade_gate(GateConfig(require_positive_expectancy=False), np.zeros(0), tests=3).passed
