from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.market_data.bundled import BundledCandles
from domain.cleaning import (
    CONFLICTING_DUPLICATE,
    DUPLICATE,
    GAP,
    INVALID_ROW,
    OHLC_VIOLATION,
    ZERO_VOLUME,
    CleaningParams,
    ConflictPolicy,
    DataQualityRefused,
    clean_candles,
    find_gaps,
    quality_report,
    valid_window_mask,
)
from domain.market import Timeframe

H = Timeframe.H1.ms


def test_real_1h_files_report_the_exchange_outages_and_nothing_is_filled(bundled: BundledCandles) -> None:
    c = bundled.candles("BTC/USDT", Timeframe.H1)
    r = quality_report(c)
    assert r.rows_out == len(c) == 43_803
    starts = {g.first_missing_ms: g.missing_bars for g in r.gaps}
    assert starts[1_619_326_800_000] == 3  # 2021-04-25 05:00 UTC: Binance maintenance, 3 bars missing
    assert r.missing_bars == 20 and len(r.gaps) == 10
    assert r.expected_rows == (c.ts[-1] - c.ts[0]) // H + 1
    eth = quality_report(bundled.candles("ETH/USDT", Timeframe.H1))
    assert [g.after_ms for g in eth.gaps] == [g.after_ms for g in r.gaps]  # same outage for every symbol


def _broken_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # SYNTHETIC rows (mechanics only)
    ts = np.array([3, 0, 1, 1, 2, 5, 6], dtype=np.int64) * H
    o = np.array([10, 10, 10, 10, 10, np.nan, 10.0])
    h = np.array([11, 11, 11, 12, 9, 11, 11.0])  # row ts=2: high below open -> OHLC violation
    lo = np.full(7, 9.0)
    c = np.full(7, 10.0)
    v = np.array([1, 1, 1, 2, 0, 1, 1.0])  # ts=1 twice: high 11 vs 12, volume 1 vs 2 (a conflict)
    return ts, o, h, lo, c, v


def test_unsorted_duplicated_and_broken_rows_are_reported_and_located() -> None:
    candles, r = clean_candles(
        "TEST/USDT", Timeframe.H1, *_broken_rows(), CleaningParams(policy=ConflictPolicy.KEEP_FIRST)
    )
    assert r.was_unsorted and r.out_of_order == 4 and r.duplicates == 1 and r.dropped_invalid == 1
    assert candles.ts.tolist() == [0, H, 2 * H, 3 * H, 6 * H]
    assert candles.volume[1] == 1.0 and candles.high[1] == 11.0  # keep-first: the first copy in the file
    assert r.ohlc_violations == 1 and r.zero_volume == 1 and r.conflicting_duplicates == 1
    assert [(g.after_ms, g.missing_bars) for g in r.gaps] == [(3 * H, 2)]
    where = {(f.kind, f.ts) for f in r.findings}
    assert {
        (CONFLICTING_DUPLICATE, H),
        (OHLC_VIOLATION, 2 * H),
        (ZERO_VOLUME, 2 * H),
        (INVALID_ROW, 5 * H),
        (GAP, 4 * H),
    } <= where
    conflict = r.located(CONFLICTING_DUPLICATE)[0]
    assert (
        "high 11 vs 12" in conflict.detail
        and "volume 1 vs 2" in conflict.detail
        and "kept the first" in conflict.detail
    )


def test_drop_bar_removes_conflicts_and_violations_and_reports_the_holes() -> None:
    candles, r = clean_candles(
        "TEST/USDT", Timeframe.H1, *_broken_rows(), CleaningParams(policy=ConflictPolicy.DROP_BAR)
    )
    assert candles.ts.tolist() == [0, 3 * H, 6 * H]  # ts=1 (conflict) and ts=2 (high < open) dropped
    assert r.dropped_bars == 2 and r.missing_bars == 4
    assert "bar dropped" in r.located(OHLC_VIOLATION)[0].detail


def test_refuse_names_each_conflict_and_violation() -> None:
    with pytest.raises(DataQualityRefused) as exc:
        clean_candles("TEST/USDT", Timeframe.H1, *_broken_rows(), CleaningParams(policy=ConflictPolicy.REFUSE))
    msg = str(exc.value)
    assert "1 conflicting duplicate" in msg and "1970-01-01 01:00 UTC" in msg and "1970-01-01 02:00 UTC" in msg


def test_identical_copies_collapse_and_are_located() -> None:
    ts = np.array([0, 1, 1, 2], dtype=np.int64) * H  # SYNTHETIC
    x = np.full(4, 10.0)
    candles, r = clean_candles("TEST/USDT", Timeframe.H1, ts, x, x, x, x, np.ones(4))
    assert len(candles) == 3 and r.duplicates == 1 and r.conflicting_duplicates == 0
    assert [(f.kind, f.ts) for f in r.findings] == [(DUPLICATE, H)]


def test_a_price_spike_is_flagged() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, 2_000)))  # SYNTHETIC random walk
    close[1_000] *= 1.2
    ts = np.arange(2_000, dtype=np.int64) * H
    _, r = clean_candles("TEST/USDT", Timeframe.H1, ts, close, close, close, close, np.ones(2_000))
    assert r.spike_ts == (1_000 * H, 1_001 * H)


@settings(max_examples=60, deadline=None)
@given(
    present=st.lists(st.booleans(), min_size=1, max_size=60),
    window=st.integers(min_value=1, max_value=8),
)
def test_valid_window_mask_matches_a_direct_definition(present: list[bool], window: int) -> None:
    ts = np.flatnonzero(np.array(present)).astype(np.int64) * H
    got = valid_window_mask(ts, Timeframe.H1, window)
    want = [i >= window - 1 and ts[i] - ts[i - window + 1] == (window - 1) * H for i in range(ts.shape[0])]
    assert got.tolist() == want
    assert sum(g.missing_bars for g in find_gaps(ts, Timeframe.H1)) == (
        0 if ts.shape[0] == 0 else int((ts[-1] - ts[0]) // H + 1 - ts.shape[0])
    )


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        valid_window_mask(np.zeros(1, dtype=np.int64), Timeframe.H1, 0)
