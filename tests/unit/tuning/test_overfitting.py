"""domain.overfitting against the papers' worked examples and constructed extremes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.overfitting import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    sharpe,
)


def test_deflated_sharpe_matches_bailey_lopez_de_prado_example() -> None:
    # The DSR paper's example: 100 trials, annualised SR variance 0.5, 1250 daily observations,
    # annualised SR 2.5, skewness -3, kurtosis 10 -> SR0 = 0.1132 per day, DSR = 0.9004.
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-4)
    dsr = probabilistic_sharpe_ratio(2.5 / math.sqrt(250), sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.9004, abs=1e-3)


def test_more_trials_deflate_more() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0.001, 0.01, 500)
    few, many = deflated_sharpe_ratio(r, 2, 1e-3), deflated_sharpe_ratio(r, 1000, 1e-3)
    assert many.benchmark > few.benchmark
    assert many.dsr < few.dsr
    assert few.sharpe == pytest.approx(sharpe(r))
    assert deflated_sharpe_ratio(r, 1, 0.0).benchmark == 0.0  # one trial: the plain PSR against 0


def test_pbo_zero_when_the_in_sample_best_is_always_best() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (160, 6))
    noise[:, 2] += 3.0  # one trial dominates in every block
    res = pbo_cscv(noise, blocks=8)
    assert res.splits == 70  # C(8, 4)
    assert res.pbo == 0.0


def test_pbo_one_when_the_in_sample_best_is_always_worst_out_of_sample() -> None:
    # trial j earns +j in the first half and -j in the second: in-sample best is out-of-sample worst
    # whenever the in-sample half is mostly one side; block-balanced splits fall at or below the median
    t, n = 80, 5
    rng = np.random.default_rng(1)
    m = rng.normal(0, 0.1, (t, n))
    for j in range(n):
        m[: t // 2, j] += j
        m[t // 2 :, j] -= j
    res = pbo_cscv(m, blocks=2)
    assert res.splits == 2
    assert res.pbo == 1.0


def test_pbo_near_half_for_pure_noise() -> None:
    rng = np.random.default_rng(7)
    vals = [pbo_cscv(rng.normal(0, 1, (200, 20)), blocks=10).pbo for _ in range(5)]
    assert 0.3 < float(np.mean(vals)) < 0.7


def test_pbo_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((10, 1)))
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((100, 3)), blocks=7)
