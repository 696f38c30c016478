"""Exact tests of the OHLC spread estimators against hand-derived values.

Hand derivation used below (Corwin-Schultz): for two identical bars whose log range is x,
beta = 2x^2, gamma = x^2, so alpha = x(sqrt2 + 1)(sqrt2) - x(sqrt2 + 1) ... = x exactly, and
S = 2(e^x - 1)/(1 + e^x) = 2 tanh(x/2). All prices are synthetic, chosen for clean logs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.spread_estimators import (
    abdi_ranaldo,
    abdi_ranaldo_squared,
    corwin_schultz,
    rolling_abdi_ranaldo,
    rolling_corwin_schultz,
    rolling_mean,
    two_bar_terms,
)

E2 = math.exp(0.02)


def test_cs_identical_bars_gives_two_tanh_half_range() -> None:
    high = [100 * E2, 100 * E2]
    low = [100.0, 100.0]
    out = corwin_schultz(high, low)
    assert math.isnan(out[0])
    # 2 * tanh(0.01) = 0.0199993333599...
    assert out[1] == pytest.approx(0.019999333359999, rel=1e-10)
    assert out[1] == pytest.approx(2 * math.tanh(0.01), rel=1e-12)


def test_cs_hand_computed_general_case() -> None:
    # bars [100, 102] and [101, 103]:
    # beta = ln(1.02)^2 + ln(103/101)^2 = 0.000392155 + 0.000384570 = 0.000776725
    # gamma = ln(1.03)^2 = 0.000873701
    # alpha = (sqrt(2b) - sqrt(b)) / 0.171573 - sqrt(g / 0.171573) = 0.067258 - 0.071361 < 0 -> 0
    out = corwin_schultz([102.0, 103.0], [100.0, 101.0])
    assert out[1] == 0.0
    raw = corwin_schultz([102.0, 103.0], [100.0, 101.0], negative="nan")
    assert math.isnan(raw[1])


def test_cs_gap_adjustment_uses_previous_close() -> None:
    # Bar 1 is bar 0 moved up by 10 (same absolute width): without the adjustment the gap reads
    # as volatility (negative estimate -> 0); with close[0] = low[0] the later bar shifts down
    # by low[1] - close[0] = 10 (the paper's additive shift), becoming identical to bar 0.
    high = [100 * E2, 110 + 100 * (E2 - 1)]
    low = [100.0, 110.0]
    close = [100.0, 110.0]
    assert corwin_schultz(high, low)[1] == 0.0
    assert corwin_schultz(high, low, close)[1] == pytest.approx(2 * math.tanh(0.01), rel=1e-9)


def test_cs_downward_gap_adjustment() -> None:
    # Bar 1 entirely below close[0] = high[0]: shifted up by close[0] - high[1] = 10.
    high = [100 * E2, 90 + 100 * (E2 - 1)]
    low = [100.0, 90.0]
    close = [100 * E2, 90.0]
    assert corwin_schultz(high, low, close)[1] == pytest.approx(2 * math.tanh(0.01), rel=1e-9)


def test_cs_invalid_bars_are_nan_and_do_not_leak() -> None:
    high = [100 * E2, 0.0, 100 * E2, 100 * E2]
    low = [100.0, 0.0, 100.0, 100.0]
    out = corwin_schultz(high, low)
    assert np.isnan(out[:3]).all()
    assert out[3] == pytest.approx(2 * math.tanh(0.01), rel=1e-12)


def test_ar_hand_computed_positive() -> None:
    # eta0 = eta1 = ln(100) + 0.01, c0 = ln(100) + 0.02 -> s^2 = 4 * 0.01 * 0.01 = 4e-4, S = 0.02
    high = [100 * E2, 100 * E2]
    low = [100.0, 100.0]
    close = [100 * E2, 100.0]
    assert abdi_ranaldo_squared(high, low, close)[1] == pytest.approx(4e-4, rel=1e-9)
    assert abdi_ranaldo(high, low, close)[1] == pytest.approx(0.02, rel=1e-9)
    assert math.isnan(abdi_ranaldo(high, low, close)[0])


def test_ar_negative_estimate_zero_or_nan() -> None:
    # c0 = ln100, eta0 = ln100 + 0.01, eta1 = ln100 - 0.01 -> s^2 = 4 * (-0.01) * 0.01 = -4e-4
    high = [100 * E2, 100.0]
    low = [100.0, 100 / E2]
    close = [100.0, 100.0]
    assert abdi_ranaldo_squared(high, low, close)[1] == pytest.approx(-4e-4, rel=1e-9)
    assert abdi_ranaldo(high, low, close)[1] == 0.0
    assert math.isnan(abdi_ranaldo(high, low, close, negative="nan")[1])


def test_estimates_only_use_past_bars() -> None:
    rng = np.random.default_rng(0)  # synthetic random walk, mechanics only
    mid = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, 50)))
    high, low, close = mid * 1.002, mid * 0.998, mid * (1 + rng.uniform(-0.002, 0.002, 50))
    full_cs = corwin_schultz(high, low, close)
    full_ar = abdi_ranaldo(high, low, close)
    part_cs = corwin_schultz(high[:30], low[:30], close[:30])
    part_ar = abdi_ranaldo(high[:30], low[:30], close[:30])
    np.testing.assert_array_equal(full_cs[:30], part_cs)
    np.testing.assert_array_equal(full_ar[:30], part_ar)


def test_rolling_mean_nan_aware() -> None:
    x = [1.0, np.nan, 3.0, 5.0]
    np.testing.assert_array_equal(rolling_mean(x, 2, min_count=1), [np.nan, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(rolling_mean(x, 2), [np.nan, np.nan, np.nan, 4.0])
    np.testing.assert_array_equal(rolling_mean(x, 5), [np.nan] * 4)
    with pytest.raises(ValueError):
        rolling_mean(x, 0)
    with pytest.raises(ValueError):
        rolling_mean(x, 2, min_count=3)


def test_rolling_ar_averages_before_sqrt() -> None:
    # s^2 terms at index 1 and 2: +4e-4 and -4e-4 -> mean 0 -> spread 0 (not mean of sqrt = 0.01)
    high = [100 * E2, 100 * E2, 100.0]
    low = [100.0, 100.0, 100 / E2]
    close = [100 * E2, 100.0, 100.0]
    s2 = abdi_ranaldo_squared(high, low, close)
    assert s2[1] == pytest.approx(4e-4, rel=1e-9)
    assert s2[2] == pytest.approx(-4e-4, rel=1e-9)
    out = rolling_abdi_ranaldo(high, low, close, window=2)
    assert math.isnan(out[1])
    assert out[2] == pytest.approx(0.0, abs=1e-9)


def test_rolling_cs_mean_of_clipped_estimates() -> None:
    high = [100 * E2, 100 * E2, 100 * E2 * 1.5]
    low = [100.0, 100.0, 150.0]
    out = rolling_corwin_schultz(high, low, window=2)
    # index 1: 2 tanh(0.01); index 2: non-overlapping jump -> 0; mean = tanh(0.01)
    assert out[2] == pytest.approx(math.tanh(0.01), rel=1e-9)


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        corwin_schultz([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        abdi_ranaldo([[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(ValueError):
        corwin_schultz([2.0, 2.0], [1.0, 1.0], negative="drop")  # type: ignore[arg-type]
    assert corwin_schultz([], []).shape == (0,)
    assert np.isnan(abdi_ranaldo([2.0], [1.0], [1.5])).all()


def test_two_bar_terms_are_corwin_schultz_and_abdi_ranaldo_squared_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    n = 500
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    high = close * (1 + np.abs(rng.normal(0, 0.005, n))) * (1 + rng.normal(0, 0.002, n))
    low = close * (1 - np.abs(rng.normal(0, 0.005, n)))
    high[[5, 50]], low[[7, 70]], close[[9, 90]] = (np.nan, np.inf), (0.0, -1.0), (np.nan, 0.0)
    cs, ar = two_bar_terms(high, low, close)
    np.testing.assert_array_equal(cs, corwin_schultz(high, low, close, negative="zero"))
    np.testing.assert_array_equal(ar, abdi_ranaldo_squared(high, low, close))
    for k in (0, 1):
        assert all(np.isnan(a).all() for a in two_bar_terms(high[:k], low[:k], close[:k]))
