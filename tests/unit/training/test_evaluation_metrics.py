"""domain.evaluation: exact values on hand-made inputs, cross-checked against scikit-learn/scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from domain import evaluation as ev
from domain.market import MS_PER_HOUR, Session
from domain.signals import Tier, TierThresholds


def test_accuracy_and_brier_exact() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.4, 0.3, 0.5])  # calls: up, down, down, up(0.5 is up)
    assert ev.accuracy(y, p) == 0.5
    assert ev.brier(y, p) == pytest.approx((0.01 + 0.16 + 0.49 + 0.25) / 4)


def test_auc_with_ties_matches_sklearn() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1])
    s = np.array([0.1, 0.5, 0.5, 0.8, 0.2, 0.9, 0.5])
    assert ev.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    # perfect ranking -> 1, reversed -> 0, one class -> NaN
    assert ev.roc_auc([0, 1], [0.2, 0.7]) == 1.0
    assert ev.roc_auc([0, 1], [0.7, 0.2]) == 0.0
    assert math.isnan(ev.roc_auc([1, 1], [0.2, 0.7]))


def test_random_inputs_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = rng.random(500)
    assert ev.roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ev.brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_reliability_and_ece_exact() -> None:
    y = np.array([1, 0, 1, 1])
    p = np.array([0.05, 0.15, 0.95, 1.0])  # bins 0, 1, 9, 9 (1.0 lands in the last bin)
    curve = ev.reliability_curve(y, p, n_bins=10)
    assert curve.counts.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert curve.mean_predicted[9] == pytest.approx(0.975)
    assert curve.observed[0] == 1.0
    # ECE = (1*|1-0.05| + 1*|0-0.15| + 2*|1-0.975|) / 4
    assert ev.expected_calibration_error(y, p) == pytest.approx((0.95 + 0.15 + 0.05) / 4)


def test_tiers_precision_coverage_recall_and_mae() -> None:
    th = TierThresholds(low=0.55, medium=0.60, high=0.68)
    # confidences: 0.52 NONE, 0.57 LOW, 0.57 LOW(down call), 0.65 MED, 0.70 HIGH, 0.80 HIGH(down call)
    p = np.array([0.52, 0.57, 0.43, 0.65, 0.70, 0.20])
    y = np.array([1, 1, 1, 0, 1, 0])
    stats = {s.tier: s for s in ev.tier_stats(y, p, th)}
    assert stats[Tier.LOW].count == 2 and stats[Tier.LOW].precision == 0.5
    assert stats[Tier.MEDIUM].precision == 0.0
    assert stats[Tier.HIGH].precision == 1.0 and stats[Tier.HIGH].coverage == pytest.approx(2 / 6)
    assert stats[Tier.HIGH].recall == pytest.approx(2 / 6)
    assert stats[Tier.HIGH].mean_confidence == pytest.approx(0.75)
    mae = ev.tier_mae(tuple(stats.values()))
    assert mae == pytest.approx((abs(0.57 - 0.5) + abs(0.65 - 0.0) + abs(0.75 - 1.0)) / 3)
    assert ev.tier_mae(tuple(stats.values()), min_count=2) == pytest.approx((0.07 + 0.25) / 2)
    emitted = ev.emitted_stats(y, p, th, Tier.LOW)
    assert emitted.count == 5 and emitted.precision == pytest.approx(3 / 5)
    assert math.isnan(ev.tier_mae(tuple(stats.values()), min_count=99))


def test_accuracy_by_session() -> None:
    ts = np.array([1, 8, 13, 22]) * MS_PER_HOUR  # tokyo, tokyo+london, london+ny, none
    y = np.array([1, 1, 0, 1])
    p = np.array([0.6, 0.4, 0.4, 0.4])
    out = ev.accuracy_by_session(y, p, ts)
    assert out[Session.TOKYO] == (0.5, 2)
    assert out[Session.LONDON] == (0.5, 2)
    assert out[Session.NEW_YORK] == (1.0, 1)


def test_newey_west_reduces_to_iid_and_grows_with_positive_autocorrelation() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    iid = math.sqrt(np.var(x) / 4)
    assert ev.newey_west_se(x, 0) == pytest.approx(iid)
    # lag-1: var + 2*(1/2)*gamma1 with gamma1 = sum(d[1:]*d[:-1])/n
    d = x - x.mean()
    g1 = float(d[1:] @ d[:-1]) / 4
    assert ev.newey_west_se(x, 1) == pytest.approx(math.sqrt((np.var(x) + g1) / 4))
    rng = np.random.default_rng(1)
    overl = np.convolve(rng.standard_normal(5000), np.ones(5), mode="valid")  # 5-bar overlapping sums
    assert ev.newey_west_se(overl, 4) > 1.5 * ev.newey_west_se(overl, 0)


def test_trade_expectancy_after_costs() -> None:
    e = ev.trade_expectancy([5.0, 15.0, -15.0], 5.0)  # net bps of three trades, 5 bps mean cost
    assert e.count == 3
    assert e.net_bps == pytest.approx((5 + 15 - 15) / 3)
    assert e.gross_bps == pytest.approx(e.net_bps + 5.0) and e.cost_bps == 5.0
    se = np.std([5.0, 15.0, -15.0], ddof=0) / np.sqrt(3)
    assert e.ci_low_bps == pytest.approx(e.net_bps - 1.96 * se) and e.ci_high_bps == pytest.approx(
        e.net_bps + 1.96 * se
    )
    one = ev.trade_expectancy([7.0], 2.0)
    assert one.net_bps == 7.0 and math.isnan(one.ci_low_bps)  # one trade: no interval
    assert ev.trade_expectancy([], float("nan")).count == 0


def test_ks_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(400), rng.standard_normal(300) + 0.3
    d, pv = ev.ks_two_sample(a, b)
    ref = ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic)
    assert pv == pytest.approx(ref.pvalue, rel=0.05)
    same_d, same_p = ev.ks_two_sample(a, a)
    assert same_d == 0.0 and same_p == 1.0


def test_grade_signals_scores_the_emitted_signals_against_the_price() -> None:
    """Four emitted signals on a block of 10 samples: 2 of the 3 labelled ones were right (the fourth's
    horizon runs past the data), LOW states 0.56 and hit 1/2, MEDIUM states 0.62 and hit 1/1."""
    from domain.evaluation import grade_signals

    sign = [1, -1, 1, -1]
    tier = [int(Tier.LOW), int(Tier.LOW), int(Tier.MEDIUM), int(Tier.HIGH)]
    conf = [0.56, 0.56, 0.62, 0.70]
    up = [1.0, 1.0, 1.0, float("nan")]  # long right, short wrong, long right, unknown
    g = grade_signals(sign, tier, conf, up, samples=10)
    assert g.emitted.count == 4 and g.labelled == 3
    assert g.emitted.precision == pytest.approx(2 / 3)
    assert g.emitted.coverage == pytest.approx(0.4)
    low, med, high = g.tiers[1], g.tiers[2], g.tiers[3]
    assert (low.count, low.precision, low.mean_confidence) == (2, 0.5, 0.56)
    assert low.calibration_gap == pytest.approx(0.06)
    assert (med.count, med.precision) == (1, 1.0)
    assert high.count == 1 and math.isnan(high.precision)  # nothing to grade it on
    # MEDIUM and above only
    g2 = grade_signals(sign, tier, conf, up, samples=10, min_tier=Tier.MEDIUM)
    assert g2.emitted.count == 2 and g2.emitted.precision == 1.0
    with pytest.raises(ValueError):
        grade_signals([1], [1, 1], [0.6], [1.0], samples=1)
