"""In-memory MarketData over given Candles (synthetic bars in tests and the demo, labelled as such)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe


class InMemoryMarketData:
    def __init__(self, candles: Iterable[Candles], now_ms: int | None = None) -> None:
        self._data: dict[tuple[str, Timeframe], Candles] = {(c.symbol, c.timeframe): c for c in candles}
        self.now_ms = now_ms  # when set, bars not closed by now are hidden

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self._data})

    def timeframes(self) -> list[Timeframe]:
        return sorted({tf for _, tf in self._data}, key=lambda tf: tf.ms)

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles:
        if symbol not in self.symbols():
            raise UnknownSymbol(f"unknown symbol {symbol!r}; served: {', '.join(self.symbols())}")
        tf = Timeframe.parse(timeframe) if isinstance(timeframe, str) else timeframe
        c = self._data.get((symbol, tf))
        if c is None:
            served = ", ".join(t.value for t in self.timeframes())
            raise UnknownTimeframe(f"timeframe {tf.value} not served for {symbol}; served: {served}")
        if self.now_ms is not None:
            c = c.closed_before(self.now_ms)
        return c.between(start_ms, end_ms)


def synthetic_candles(
    symbol: str, timeframe: Timeframe, n: int, start_ms: int, seed: int = 0, start_price: float = 100.0
) -> Candles:
    """SYNTHETIC random-walk bars for mechanics tests and the demo; never market data."""
    rng = np.random.default_rng(seed)
    ret = rng.normal(0.0, 0.002, n)
    close = start_price * np.exp(np.cumsum(ret))
    open_ = np.concatenate(([start_price], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.001, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    ts = start_ms + np.arange(n, dtype=np.int64) * timeframe.ms
    return Candles(symbol, timeframe, ts, open_, high, low, close, rng.uniform(1, 10, n))
