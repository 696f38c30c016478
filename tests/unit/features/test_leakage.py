from __future__ import annotations

import numpy as np
import pytest

from adapters.market_data.bundled import BundledCandles
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams, compute_features
from domain.leakage import check_leakage, default_cuts, perturb_after
from domain.market import Candles, Timeframe
from services.leakage_check import check_features_leakage


def _with_centred_mean(c: Candles) -> FeatureMatrix:
    """The real feature set plus a PLANTED leak: a centred 21-bar rolling mean (uses t+1..t+10)."""
    fm = compute_features(c)
    k = 10
    kernel = np.ones(2 * k + 1) / (2 * k + 1)
    centred = np.full(len(c), np.nan)
    centred[k:-k] = np.convolve(c.close, kernel, mode="valid")
    return FeatureMatrix(
        fm.pair,
        fm.timeframe,
        fm.version,
        fm.ts,
        (*fm.names, "leaky_centred_mean"),
        np.column_stack((fm.values, centred / c.close - 1)),
    )


@pytest.fixture(scope="module")
def eth1h(bundled: BundledCandles) -> Candles:
    return bundled.candles("ETH/USDT", Timeframe.H1).tail(6_000)


def test_every_real_feature_passes_and_reacts(eth1h: Candles) -> None:
    rng = np.random.default_rng(5)
    report = check_leakage(compute_features, eth1h, default_cuts(len(eth1h), 4, rng, margin=2_000), rng)
    assert report.passed, report.leaky
    calendar = {"session_tokyo", "session_london", "session_new_york", "dow_sin", "dow_cos", "hour_sin", "hour_cos"}
    for v in report.verdicts:
        assert v.reacts_after_cut or v.name in calendar, f"{v.name} never reacted: the check would be vacuous"


def test_the_planted_centred_mean_is_caught(eth1h: Candles) -> None:
    rng = np.random.default_rng(5)
    report = check_leakage(_with_centred_mean, eth1h, [3_000], rng)
    assert report.leaky == ("leaky_centred_mean",)
    bad = report.verdicts[-1]
    assert bad.first_leak_cut_ms == int(eth1h.ts[3_000]) and bad.max_abs_diff > 0


def test_perturbation_leaves_bars_up_to_the_cut_untouched(eth1h: Candles) -> None:
    p = perturb_after(eth1h, 100, np.random.default_rng(0))
    assert np.array_equal(p.close[:101], eth1h.close[:101]) and not np.array_equal(p.close[101:], eth1h.close[101:])
    assert bool(np.all(p.high >= np.maximum(p.open, p.close))) and bool(np.all(p.low <= np.minimum(p.open, p.close)))


def test_service_checks_every_symbol_and_timeframe_that_exists(bundled: BundledCandles) -> None:
    reports = check_features_leakage(
        bundled,
        ["BTC/USDT", "BNB/USDT"],
        [Timeframe.M1, Timeframe.H1],
        np.random.default_rng(1),
        FeatureParams(higher_timeframes=("4h",)),
        bars=3_000,
        cuts=2,
    )
    assert [(r.symbol, r.timeframe) for r in reports] == [("BTC/USDT", "1m"), ("BTC/USDT", "1h"), ("BNB/USDT", "1h")]
    assert all(r.passed for r in reports)
