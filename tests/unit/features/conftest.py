"""Real Binance candles from ../shared/data for the feature tests (read, never copied)."""

from __future__ import annotations

import pytest

from adapters.market_data.bundled import BundledCandles
from composition.config import DEFAULT_SHARED_DATA


@pytest.fixture(scope="session")
def bundled() -> BundledCandles:
    return BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance")
