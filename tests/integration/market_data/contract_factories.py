"""Factories that put this package's adapters into the MarketData and FeatureStore contract suites.

The Binance ccxt adapter is not in the MarketData suite: an exchange serves every timeframe for
every symbol, so the suite's "ETH/USDT 5m is unknown" cannot hold there. It has its own tests
against a fake Binance on 127.0.0.1 (test_binance_ccxt.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.market_data import InMemoryMarketData
from domain.market import Candles
from ports.feature_store import FeatureStore
from ports.market_data import MarketData

START = 1_704_067_200_000


def _bundled(tmp_path: Path, candles: list[Candles]) -> MarketData:
    from adapters.market_data.bundled import BundledCandles
    from adapters.market_data.parquet_io import file_name, write_candles

    for c in candles:
        write_candles(tmp_path / file_name(c.symbol, c.timeframe), c)
    return BundledCandles(tmp_path)


def _parquet_store(tmp_path: Path, candles: list[Candles]) -> MarketData:
    from adapters.market_data.parquet_store import ParquetCandleStore

    store = ParquetCandleStore(tmp_path)
    for c in candles:
        store.append(c)
    return ParquetCandleStore(tmp_path)  # a fresh instance reads the files back


def _replay(tmp_path: Path, candles: list[Candles]) -> MarketData:
    from adapters.market_data.replay import ReplayMarketData
    from adapters.mocks.clock import FakeClock

    return ReplayMarketData(InMemoryMarketData(candles), FakeClock(START + 365 * 86_400_000))


def _parquet_feature_store(tmp_path: Path) -> FeatureStore:
    from adapters.market_data.feature_store import ParquetFeatureStore

    return ParquetFeatureStore(tmp_path / "features", now_ms=lambda: START)


MARKET_DATA_FACTORIES: list[Any] = [
    pytest.param(_bundled, id="bundled-parquet"),
    pytest.param(_parquet_store, id="raw-parquet-store"),
    pytest.param(_replay, id="replay"),
]

FEATURE_STORE_FACTORIES: list[Any] = [pytest.param(_parquet_feature_store, id="versioned-parquet")]
