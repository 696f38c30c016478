"""services.execution_metrics on SYNTHETIC candles/fills (hand-checkable mechanics, not market data)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from domain.errors import DataError
from domain.execution_costs import QuoteSample
from domain.market import MS_PER_HOUR, Candles, Session, Timeframe
from domain.signals import Direction
from domain.trading import Fill
from services.execution_metrics import model_from_broker, model_from_ohlc, ohlc_block_samples

E2 = math.exp(0.02)
DAY0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def flat_candles(n: int, start: int = DAY0, drop: tuple[int, ...] = ()) -> Candles:
    """Every 5m bar spans [100, 100 e^0.02] and closes at its low (synthetic)."""
    ts = start + np.arange(n, dtype=np.int64) * Timeframe.M5.ms
    keep = np.setdiff1d(np.arange(n), np.array(drop, dtype=np.int64))
    ts = ts[keep]
    k = ts.shape[0]
    return Candles(
        "BTC/USDT",
        Timeframe.M5,
        ts,
        np.full(k, 100.0),
        np.full(k, 100 * E2),
        np.full(k, 100.0),
        np.full(k, 100.0),
        np.ones(k),
    )


def test_block_samples_hand_values() -> None:
    b = ohlc_block_samples(flat_candles(24), reference_latency_ms=500)
    np.testing.assert_array_equal(b.hour_ms, [DAY0, DAY0 + MS_PER_HOUR])
    cs = 2 * math.tanh(0.01) * 1e4  # identical two-bar windows
    ar = 0.02 * 1e4  # 4 (c - eta)(c - eta') = 4 * 0.01^2
    np.testing.assert_allclose(b.corwin_schultz_bps, [cs, cs], rtol=1e-9)
    np.testing.assert_allclose(b.abdi_ranaldo_bps, [ar, ar], rtol=1e-9)
    np.testing.assert_allclose(b.spread_bps, [(cs + ar) / 2] * 2, rtol=1e-9)
    sigma_bar = 0.02 / math.sqrt(4 * math.log(2))
    slip = math.sqrt(2 / math.pi) * sigma_bar * math.sqrt(500 / 300_000) * 1e4
    np.testing.assert_allclose(b.slippage_bps, [slip, slip], rtol=1e-9)


def test_block_needs_enough_contiguous_windows() -> None:
    # hour 0 keeps bars 0..4 only (4 windows < 6 needed) -> NaN spread; hour 1 is complete
    b = ohlc_block_samples(flat_candles(24, drop=tuple(range(5, 12))))
    assert math.isnan(b.spread_bps[0]) and math.isfinite(b.spread_bps[1])
    # the window across the gap (bar 4 -> bar 12) is dropped, so hour 1 still has 11 windows
    with pytest.raises(DataError, match="1h or shorter"):
        ohlc_block_samples(Candles.empty("BTC/USDT", Timeframe.H4))


def test_model_from_ohlc_needs_samples_per_session() -> None:
    one_day = flat_candles(288)  # 24 h -> 9 hour blocks per session
    model = model_from_ohlc({"BTC/USDT": one_day}, dt.date(2025, 1, 2), min_samples=9)
    assert model.source == "ohlc-estimate"
    assert {p.spread.count for p in model.profiles} == {9}
    assert model.profile("BTC/USDT", Session.TOKYO).spread.p50 == pytest.approx(
        (2 * math.tanh(0.01) * 1e4 + 200) / 2, rel=1e-9
    )
    with pytest.raises(DataError, match=r"BTC/USDT tokyo .* 9 samples, need at least 10"):
        model_from_ohlc({"BTC/USDT": one_day}, dt.date(2025, 1, 2), min_samples=10)


def test_model_from_broker_exact() -> None:
    hour = DAY0 + 3 * MS_PER_HOUR  # Tokyo only
    fills = [
        Fill("a", "BTC/USDT", 100.0, 100.02, 1.0, hour, direction=Direction.LONG),  # +2 bps
        Fill("b", "BTC/USDT", 100.0, 100.04, 1.0, hour + 1, direction=Direction.SHORT),  # improvement -> 0
        Fill("c", "BTC/USDT", 100.0, 99.96, 1.0, hour + 2, direction=Direction.SHORT),  # +4 bps
    ]
    quotes = [QuoteSample("BTC/USDT", hour + i, 100.0, 100.0 + 0.01 * (i + 1)) for i in range(3)]
    with pytest.raises(DataError, match="BTC/USDT london spread: 0"):
        model_from_broker(["BTC/USDT"], fills, quotes, dt.date(2025, 1, 2), min_samples=3)
    all_sessions = quotes + [
        QuoteSample("BTC/USDT", DAY0 + h * MS_PER_HOUR, 100.0, 100.01) for h in (10, 10, 10, 14, 14, 14)
    ]
    fills_all = fills + [
        Fill(f"x{h}{i}", "BTC/USDT", 100.0, 100.0, 1.0, DAY0 + h * MS_PER_HOUR + i, direction=Direction.LONG)
        for h in (10, 14)
        for i in range(3)
    ]
    model = model_from_broker(["BTC/USDT"], fills_all, all_sessions, dt.date(2025, 1, 2), min_samples=3)
    tokyo = model.profile("BTC/USDT", Session.TOKYO)
    assert tokyo.source == "broker" and model.source == "broker"
    assert tokyo.slippage.mean == pytest.approx(2.0, rel=1e-6)  # (2 + 0 + 4) / 3
    assert tokyo.slippage.quantiles[0] == 0.0
    spreads = [(0.01 * (i + 1)) / (100 + 0.005 * (i + 1)) * 1e4 for i in range(3)]
    assert tokyo.spread.mean == pytest.approx(float(np.mean(spreads)), rel=1e-9)
    assert model.profile("BTC/USDT", Session.NEW_YORK).spread.count == 3  # 14 UTC: London and New York
    assert model.profile("BTC/USDT", Session.LONDON).spread.count == 6
