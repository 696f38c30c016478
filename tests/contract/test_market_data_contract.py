"""MarketData contract. Factories get (tmp_path, candles) and must serve exactly those candles
(SYNTHETIC bars written in whatever form the adapter reads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe
from ports.market_data import MarketData

START = 1_704_067_200_000
FIXTURE = [
    synthetic_candles("BTC/USDT", Timeframe.H1, 48, START, seed=1),
    synthetic_candles("ETH/USDT", Timeframe.H1, 48, START, seed=2),
    synthetic_candles("BTC/USDT", Timeframe.M5, 100, START, seed=3),
]

MARKET_DATA: list[Any] = [pytest.param(lambda tmp_path, candles: InMemoryMarketData(candles), id="mock")]

# Bundled parquet files, the raw parquet store and the replay adapter; see the factories' module.
from tests.integration.market_data.contract_factories import MARKET_DATA_FACTORIES  # noqa: E402

MARKET_DATA.extend(MARKET_DATA_FACTORIES)


@pytest.fixture(params=MARKET_DATA)
def md(request: pytest.FixtureRequest, tmp_path: Path) -> MarketData:
    factory: Callable[[Path, list[Candles]], MarketData] = request.param
    return factory(tmp_path, FIXTURE)


def test_protocol_and_listing(md: MarketData) -> None:
    assert isinstance(md, MarketData)
    assert md.symbols() == ["BTC/USDT", "ETH/USDT"]
    tfs = md.timeframes()
    assert Timeframe.H1 in tfs and Timeframe.M5 in tfs
    assert [t.ms for t in tfs] == sorted(t.ms for t in tfs)


def test_full_range_round_trips(md: MarketData) -> None:
    c = md.candles("BTC/USDT", Timeframe.H1)
    assert c.symbol == "BTC/USDT" and c.timeframe is Timeframe.H1
    assert c.equals(FIXTURE[0]) or (
        np.array_equal(c.ts, FIXTURE[0].ts) and np.allclose(c.close, FIXTURE[0].close, rtol=1e-12)
    )


def test_range_bounds_are_start_inclusive_end_exclusive(md: MarketData) -> None:
    h = Timeframe.H1.ms
    c = md.candles("BTC/USDT", Timeframe.H1, START + 2 * h, START + 5 * h)
    assert c.ts.tolist() == [START + 2 * h, START + 3 * h, START + 4 * h]
    assert np.all(np.diff(c.ts) > 0)
    assert len(md.candles("ETH/USDT", Timeframe.H1, START + 100 * h, None)) == 0
    assert md.candles("BTC/USDT", Timeframe.H1, START, START + 3 * h).equals(
        md.candles("BTC/USDT", Timeframe.H1, START, START + 3 * h)
    )


def test_unknown_symbol_and_timeframe_are_user_errors(md: MarketData) -> None:
    with pytest.raises(UnknownSymbol):
        md.candles("DOGE/USDT", Timeframe.H1)
    with pytest.raises(UnknownTimeframe):
        md.candles("ETH/USDT", Timeframe.M5)
