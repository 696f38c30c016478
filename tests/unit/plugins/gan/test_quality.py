"""The GAN quality metrics against series whose answer is known (synthetic series, labelled as such:
they test the metrics' mechanics, not any market claim)."""

from __future__ import annotations

import numpy as np
import pytest

from plugins.gan import quality as q
from plugins.gan.scores import discriminative_score, predictive_ratio


def garch(n: int, seed: int, gamma: float = 0.0) -> np.ndarray:
    """GJR-GARCH(1,1) with Student-t(5) shocks: heavy tails, volatility clustering, leverage if gamma > 0."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(5, n) / np.sqrt(5 / 3)
    r = np.empty(n)
    h = 1e-6
    for t in range(n):  # a test fixture generator, not product code
        r[t] = np.sqrt(h) * z[t]
        h = 1e-7 + (0.05 + gamma * (r[t] < 0)) * r[t] ** 2 + 0.9 * h
    return r


@pytest.fixture(scope="module")
def real() -> list[np.ndarray]:
    return [garch(20_000, 1, 0.06)]


def test_wasserstein_of_a_shift_is_the_shift() -> None:
    a = np.random.default_rng(0).normal(size=50_000)
    assert q.wasserstein1(a, a) == 0.0
    assert q.wasserstein1(a, a + 0.3) == pytest.approx(0.3, abs=1e-9)


def test_aggregate_sums_k_bars_within_each_path() -> None:
    out = q.aggregate([np.ones(5), np.ones(3) * 2], 3)
    assert out.tolist() == [3.0, 3.0, 3.0, 6.0]


def test_kurtosis_and_hill_of_gaussian_and_student_t() -> None:
    rng = np.random.default_rng(3)
    g, t3 = rng.normal(size=200_000), rng.standard_t(3, 200_000)
    assert abs(q.excess_kurtosis(g)) < 0.1
    assert q.excess_kurtosis(t3) > 3
    assert q.hill_index(t3, 0.01) == pytest.approx(3.0, rel=0.2)
    assert q.hill_index(g, 0.01) > 4.5  # thin tail: a much larger index


def test_acf_of_iid_is_zero_and_of_ar1_is_phi_power() -> None:
    rng = np.random.default_rng(4)
    iid = rng.normal(size=100_000)
    assert np.max(np.abs(q.acf(iid))) < 0.02
    e = rng.normal(size=100_000)
    ar = np.empty_like(e)
    ar[0] = e[0]
    for t in range(1, e.size):
        ar[t] = 0.6 * ar[t - 1] + e[t]
    a = q.acf(ar, 5)
    assert a == pytest.approx(0.6 ** np.arange(1, 6), abs=0.02)


def test_garch_abs_returns_cluster_and_decay(real: list[np.ndarray]) -> None:
    a = q.acf([np.abs(p) for p in real])
    assert a[0] > 0.1 and a[0] > a[50] > 0  # positive, decaying
    assert abs(np.nanmean(q.acf(real))) < 0.02  # returns themselves ~ uncorrelated


def test_leverage_effect_sign_and_lag() -> None:
    z = np.random.default_rng(2).normal(size=100_000)
    r = z.copy()
    r[1:] = z[1:] * (1.0 + (z[:-1] < 0))  # a fall doubles the next bar's volatility
    lev = q.leverage(r, 5)
    assert lev[0] < -0.2  # corr(r_t, r^2_{t+1}) strongly negative
    assert np.max(np.abs(lev[1:])) < 0.02  # and only at lag 1
    assert np.max(np.abs(q.leverage(z, 5))) < 0.02


def test_regimes_same_process_match_and_constant_vol_does_not(real: list[np.ndarray]) -> None:
    fr, fs, out = q.regime_frequencies(real, [garch(20_000, 5, 0.06)])
    assert np.abs(fr - fs).sum() / 2 < 0.15
    assert out < 0.02
    flat = np.random.default_rng(6).normal(scale=real[0].std(), size=20_000)
    fr, fs, _ = q.regime_frequencies(real, [flat])
    assert np.abs(fr - fs).sum() / 2 > 0.2


def test_same_process_passes_and_iid_gaussian_fails_clustering(real: list[np.ndarray]) -> None:
    th = q.Thresholds()
    same = q.evaluate(real, [garch(20_000, 7, 0.06)], th)
    by = {c.name: c for c in same}
    assert by["vol_clustering"].passed and by["acf_abs"].passed and by["w1_1bar"].passed
    iid = [np.random.default_rng(8).normal(scale=real[0].std(), size=20_000)]
    gauss = {c.name: c for c in q.evaluate(real, iid, th)}
    assert not gauss["vol_clustering"].passed
    assert not gauss["acf_abs"].passed
    assert not gauss["kurtosis_ratio"].passed
    assert not q.passed(list(gauss.values()))


def test_discriminative_score_separates_different_processes(real: list[np.ndarray]) -> None:
    same = discriminative_score(real, [garch(20_000, 9, 0.06)], seed=0)
    other = discriminative_score(real, [np.random.default_rng(9).normal(scale=real[0].std() * 3, size=20_000)], seed=0)
    assert same < 0.12
    assert other > 0.4


def test_predictive_ratio_near_one_for_same_process(real: list[np.ndarray]) -> None:
    assert predictive_ratio(real, [garch(20_000, 10, 0.06)]) < 1.1
    assert predictive_ratio(real, [np.full(20_000, real[0].std() * 10)]) > 1.5
