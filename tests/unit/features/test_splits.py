from __future__ import annotations

import numpy as np
import pytest

from adapters.market_data.bundled import BundledCandles
from domain.market import Timeframe
from domain.splits import calendar_split, date_ms, rolling_windows

H = Timeframe.H1.ms


def test_calendar_split_on_real_1h_bars_with_a_purged_boundary(bundled: BundledCandles) -> None:
    ts = bundled.candles("BTC/USDT", Timeframe.H1).ts
    s = calendar_split(ts, Timeframe.H1, horizon_bars=3)
    tr, va, te = s.indices()
    assert not (s.train & s.validate).any() and not (s.validate & s.test).any()
    assert ts[tr[-1]] + 3 * H < date_ms(2024) and ts[tr[-1]] == date_ms(2024) - 4 * H
    assert ts[va[0]] == date_ms(2024) and ts[va[-1]] == date_ms(2025) - 4 * H
    assert ts[te[0]] == date_ms(2025) and te[-1] == ts.shape[0] - 1
    # the three purged hours before each boundary belong to no set
    gap = (ts >= date_ms(2024) - 3 * H) & (ts < date_ms(2024))
    assert gap.sum() == 3 and not (s.train | s.validate | s.test)[gap].any()


def test_rolling_windows_step_a_month_and_never_overlap_their_label_windows(bundled: BundledCandles) -> None:
    ts = bundled.candles("ETH/USDT", Timeframe.M5).ts  # 2024-12-31 .. 2025-10-31
    wins = rolling_windows(ts, Timeframe.M5, horizon_bars=12, train_months=3)
    assert [w.bounds[1][0] for w in wins][:2] == [date_ms(2025, 4), date_ms(2025, 5)]
    assert wins[-1].bounds[1] == (date_ms(2025, 10), date_ms(2025, 11))
    assert len(wins) == 7
    for w in wins:
        tr, va, _ = w.indices()
        assert ts[tr[-1]] + 12 * Timeframe.M5.ms < ts[va[0]]
        assert ts[va[-1]] + 12 * Timeframe.M5.ms < w.bounds[1][1]
        assert not w.test.any()


def test_splits_refuse_bad_orders() -> None:
    with pytest.raises(ValueError):
        calendar_split(np.zeros(1, dtype=np.int64), Timeframe.H1, 1, train=(date_ms(2024), date_ms(2023)))
    with pytest.raises(ValueError):
        rolling_windows(np.arange(3, dtype=np.int64), Timeframe.H1, 1, train_months=0)
