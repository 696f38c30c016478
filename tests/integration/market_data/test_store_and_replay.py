"""Raw parquet store (real files in tmp) and the replay adapter, over real candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adapters.market_data.bundled import BundledCandles
from adapters.market_data.parquet_io import CorruptCandleFile
from adapters.market_data.parquet_store import ParquetCandleStore
from adapters.market_data.replay import ReplayMarketData
from adapters.mocks.clock import FakeClock
from composition.config import DEFAULT_SHARED_DATA
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe


@pytest.fixture(scope="module")
def btc5m() -> Candles:
    return BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance").candles("BTC/USDT", Timeframe.M5)


def test_append_merges_by_bar_and_survives_a_reopen(btc5m: Candles, tmp_path: Path) -> None:
    store = ParquetCandleStore(tmp_path)
    assert store.append(btc5m._take(slice(0, 1_000))).added == 1_000
    res = store.append(btc5m._take(slice(900, 1_500)))  # 100 overlapping bars are replaced, not duplicated
    assert (res.added, res.replaced, res.rows) == (500, 100, 1_500)
    again = ParquetCandleStore(tmp_path)
    assert again.candles("BTC/USDT", Timeframe.M5).equals(btc5m._take(slice(0, 1_500)))
    assert again.path("BTC/USDT", Timeframe.M5) == tmp_path / "raw" / "binance" / "BTC_USDT-5m.parquet"
    assert again.entries() == [("BTC/USDT", Timeframe.M5)]
    with pytest.raises(UnknownSymbol, match="valid symbols: BTC/USDT"):
        again.candles("ETH/USDT", Timeframe.M5)
    with pytest.raises(UnknownTimeframe, match="valid timeframes: 5m"):
        again.candles("BTC/USDT", Timeframe.H1)


def test_a_corrupt_file_is_named_with_how_to_rebuild_it(btc5m: Candles, tmp_path: Path) -> None:
    store = ParquetCandleStore(tmp_path)
    store.append(btc5m.tail(10))
    path = store.path("BTC/USDT", Timeframe.M5)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CorruptCandleFile) as err:
        ParquetCandleStore(tmp_path).candles("BTC/USDT", Timeframe.M5)
    msg = str(err.value)
    assert str(path) in msg and "trading-ai data fetch --symbols BTC/USDT --timeframe 5m" in msg


def test_replay_never_serves_a_bar_that_has_not_closed(btc5m: Candles) -> None:
    bundled = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance")
    t0 = int(btc5m.ts[5_000])
    clock = FakeClock(t0 + 2 * 60_000)  # two minutes into the bar opening at t0
    replay = ReplayMarketData(bundled, clock)
    got = replay.candles("BTC/USDT", Timeframe.M5)
    assert got.last_ts == t0 - Timeframe.M5.ms
    assert len(replay.candles("BTC/USDT", Timeframe.M5, start_ms=t0, end_ms=t0 + 10**9)) == 0
    clock.advance(3 * 60_000)  # now == t0 + 5m: the bar has just closed
    assert replay.candles("BTC/USDT", Timeframe.M5).last_ts == t0
    h1 = replay.candles("BTC/USDT", Timeframe.H1)
    assert bool(np.all(h1.ts + Timeframe.H1.ms <= clock.now_ms()))
    assert replay.symbols() == bundled.symbols()
