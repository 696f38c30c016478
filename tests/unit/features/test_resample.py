from __future__ import annotations

import numpy as np

from adapters.market_data.bundled import BundledCandles
from domain.market import Candles, Timeframe
from domain.resample import align_closed, complete_closes, resample


def test_real_1m_resampled_to_5m_matches_the_exchange_5m_bars(bundled: BundledCandles) -> None:
    one = bundled.candles("BTC/USDT", Timeframe.M1)
    five = resample(one, Timeframe.M5)
    ref = bundled.candles("BTC/USDT", Timeframe.M5, int(five.ts[0]), int(five.ts[-1]) + 1)
    assert len(five) == len(ref) > 20_000
    np.testing.assert_array_equal(five.ts, ref.ts)
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(five, col), getattr(ref, col))
    np.testing.assert_allclose(five.volume, ref.volume, rtol=1e-9)


def _synthetic(ts_minutes: list[int]) -> Candles:
    """SYNTHETIC 1m candles (mechanics only): close = minute index."""
    m = np.asarray(ts_minutes, dtype=np.int64)
    px = m.astype(float) + 100.0
    return Candles("TEST/USDT", Timeframe.M1, m * 60_000, px, px + 1, px - 1, px, np.ones(m.shape[0]))


def test_incomplete_buckets_are_dropped_not_built_from_part_of_the_data() -> None:
    # bucket 0-4 complete, bucket 5-9 misses minute 7, bucket 10-12 is still forming
    c = _synthetic([0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12])
    r = resample(c, Timeframe.M5)
    assert r.ts.tolist() == [0]
    assert (r.open[0], r.close[0], r.high[0], r.low[0], r.volume[0]) == (100.0, 104.0, 105.0, 99.0, 5.0)
    partial = resample(c, Timeframe.M5, complete_only=False)
    assert partial.ts.tolist() == [0, 300_000, 600_000]


def test_a_higher_bar_is_visible_only_from_the_base_bar_that_closes_with_it() -> None:
    c = _synthetic(list(range(0, 20)))
    h = resample(c, Timeframe.M5)  # bars at 0, 5, 10, 15 (each closes 5 minutes later)
    idx = align_closed(h, c.ts, Timeframe.M1)
    # base bar 3 closes at minute 4: nothing closed yet; base bar 4 closes at 5: bucket 0 visible
    assert idx[:5].tolist() == [-1, -1, -1, -1, 0]
    assert idx[5:10].tolist() == [0, 0, 0, 0, 1]
    assert idx[19] == 3


def test_stale_higher_bar_after_a_dropped_bucket_is_not_reused() -> None:
    c = _synthetic([m for m in range(0, 20) if m != 7])  # bucket 5-9 incomplete
    h = resample(c, Timeframe.M5)
    assert h.ts.tolist() == [0, 600_000, 900_000]
    idx = align_closed(h, c.ts, Timeframe.M1)
    at = {int(t // 60_000): int(i) for t, i in zip(c.ts, idx, strict=True)}
    assert at[8] == 0  # closes at minute 9: bucket 0 (closed at 5) is 4 minutes old, still current
    assert at[9] == -1  # closes at 10: bucket 5 should have closed and is missing
    assert at[14] == 1


def test_complete_closes_are_the_resampled_bars_open_times_and_closes(bundled: BundledCandles) -> None:
    one = bundled.candles("BTC/USDT", Timeframe.M1)
    gappy = _synthetic([0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    for c in (one, gappy):
        for tf in (Timeframe.M1, Timeframe.M5, Timeframe.parse("15m"), Timeframe.H1):
            ts, close = complete_closes(c, tf)
            ref = resample(c, tf, complete_only=True)
            np.testing.assert_array_equal(ts, ref.ts)
            np.testing.assert_array_equal(close, ref.close)
