from __future__ import annotations

import numpy as np
import pytest

from adapters.market_data.bundled import BundledCandles
from domain.cleaning import find_gaps
from domain.features import FeatureParams, compute_features, feature_names, warmup_bars
from domain.market import Candles, Timeframe


@pytest.fixture(scope="module")
def btc5m(bundled: BundledCandles) -> Candles:
    return bundled.candles("BTC/USDT", Timeframe.M5).tail(12_000)


def _perturbed_after(c: Candles, t_index: int, rng: np.random.Generator) -> Candles:
    def p(a: np.ndarray) -> np.ndarray:
        out = a.copy()
        out[t_index + 1 :] *= rng.uniform(0.5, 1.5, size=out.shape[0] - t_index - 1)
        return out

    hi, lo = p(c.high), p(c.low)
    return Candles(
        c.symbol, c.timeframe, c.ts, p(c.open), np.maximum(hi, lo), np.minimum(hi, lo), p(c.close), p(c.volume)
    )


def test_rows_up_to_t_ignore_every_later_bar(btc5m: Candles) -> None:
    base = compute_features(btc5m)
    rng = np.random.default_rng(11)
    for t_index in (3_000, 7_777, 11_000):
        other = compute_features(_perturbed_after(btc5m, t_index, rng))
        np.testing.assert_array_equal(base.values[: t_index + 1], other.values[: t_index + 1])
        # and the perturbation does reach later rows, so the comparison is not vacuous
        assert not np.array_equal(base.values[t_index + 1 :], other.values[t_index + 1 :], equal_nan=True)


def test_warm_up_rows_are_nan_then_every_feature_is_defined(btc5m: Candles) -> None:
    params = FeatureParams()
    fm = compute_features(btc5m, params)
    w = warmup_bars(params, Timeframe.M5)
    assert np.isnan(fm.values[0]).any()
    assert np.isnan(fm.column("ret_1")[0])
    assert np.isfinite(fm.values[w:]).all(), "gap-free real 5m data must have no NaN after warm-up"
    assert np.isnan(fm.values[: w - 300]).any(axis=1).all()


def test_windows_crossing_an_exchange_outage_are_nan(bundled: BundledCandles) -> None:
    c = bundled.candles("BTC/USDT", Timeframe.H1)
    gap = next(g for g in find_gaps(c.ts, c.timeframe) if g.missing_bars == 3)  # 2021-04-25 outage
    fm = compute_features(c)
    after = int(np.searchsorted(c.ts, gap.before_ms))
    assert np.isnan(fm.column("ret_1")[after])
    assert np.isfinite(fm.column("ret_1")[after + 1])
    rv = fm.column("rv_30")
    assert np.isnan(rv[after : after + 30]).all()
    assert np.isfinite(rv[after + 30])
    assert np.isfinite(fm.column("session_tokyo")[after])  # calendar features need no window


def test_higher_timeframe_features_change_only_when_a_higher_bar_closes(btc5m: Candles) -> None:
    fm = compute_features(btc5m)
    trend_1h = fm.column("trend_1h")
    changes = np.flatnonzero(np.diff(trend_1h) != 0) + 1
    changes = changes[np.isfinite(trend_1h[changes]) & np.isfinite(trend_1h[changes - 1])]
    close_times = fm.ts[changes] + Timeframe.M5.ms
    assert changes.size > 100
    assert (close_times % Timeframe.H1.ms == 0).all()


def test_supplied_exchange_bars_give_the_same_higher_features_as_resampling(bundled: BundledCandles) -> None:
    five = bundled.candles("ETH/USDT", Timeframe.M5).between(1_740_000_000_000, 1_748_000_000_000)
    one_h = bundled.candles("ETH/USDT", Timeframe.H1)
    params = FeatureParams(higher_timeframes=("1h",))
    a = compute_features(five, params)
    b = compute_features(five, params, higher={Timeframe.H1: one_h})
    assert a.names == b.names
    ok = np.isfinite(a.column("trend_1h"))
    assert ok.sum() > 10_000
    np.testing.assert_allclose(b.column("trend_1h")[ok], a.column("trend_1h")[ok], rtol=0, atol=1e-9)


def test_the_newest_rows_alone_are_the_whole_matrix_rows_bit_for_bit(btc5m: Candles) -> None:
    """`last` computes only the newest rows, with the values (NaN bits included) the whole call gives
    them: on a gap-free window, across an outage, from the epoch's first day, with other parameters."""
    keep = np.ones(3_000, dtype=bool)
    keep[[7, 1_500, 1_501, 2_990]] = False
    keep[2_000:2_100] = False
    w = btc5m.tail(3_000)
    gappy = Candles(w.symbol, w.timeframe, *(a[keep] for a in (w.ts, w.open, w.high, w.low, w.close, w.volume)))
    early = Candles(
        w.symbol,
        w.timeframe,
        np.arange(700, dtype=np.int64) * Timeframe.M5.ms,
        *(a[:700] for a in (w.open, w.high, w.low, w.close, w.volume)),
    )
    odd = FeatureParams(return_lookbacks=(1, 3, 3), vol_windows=(10, 10, 50), higher_timeframes=("15m", "1d"))
    for c in (btc5m.tail(1_025), gappy, early):
        for params in (FeatureParams(), odd):
            full = compute_features(c, params)
            for last in (0, 1, 16, 300, len(c), len(c) + 3):
                tail = compute_features(c, params, last=last)
                k = min(last, len(c))
                assert tail.names == full.names and tail.version == full.version
                assert tail.ts.tobytes() == full.ts[len(c) - k :].tobytes()
                assert tail.values.tobytes() == full.values[len(c) - k :].tobytes()
    with pytest.raises(ValueError):
        compute_features(w, last=-1)


def test_key_is_stable_and_follows_the_parameters() -> None:
    assert FeatureParams().key() == FeatureParams().key()
    assert FeatureParams(atr_window=21).key() != FeatureParams().key()
    p = FeatureParams(return_lookbacks=(2, 3), higher_timeframes=("4h",))
    assert FeatureParams.from_dict(p.to_dict()) == p
    assert FeatureParams.from_dict(p.to_dict()).key() == p.key()
    with pytest.raises(ValueError):
        FeatureParams(vol_windows=())


def test_names_are_predictable_per_timeframe() -> None:
    names = feature_names(FeatureParams(), Timeframe.H1)
    assert "trend_4h" in names and "trend_15m" not in names and "trend_1h" in names
    assert len(names) == len(set(names))
