"""Replay MarketData for backtests: serves another source's bars as of the clock's now.

A bar is served only once it has closed (open time + period <= now), so a backtest cannot see a
bar that was still forming, let alone a future one, whatever range it asks for.
"""

from __future__ import annotations

from domain.market import Candles, Timeframe
from ports.clock import Clock
from ports.market_data import MarketData


class ReplayMarketData:
    def __init__(self, source: MarketData, clock: Clock) -> None:
        self._source = source
        self._clock = clock

    def symbols(self) -> list[str]:
        return self._source.symbols()

    def timeframes(self) -> list[Timeframe]:
        return self._source.timeframes()

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles:
        tf = Timeframe.parse(timeframe)
        now = self._clock.now_ms()
        # Bars opening at or after now - period have not closed; never ask the source for them.
        horizon = now - tf.ms + 1
        end = horizon if end_ms is None else min(end_ms, horizon)
        return self._source.candles(symbol, tf, start_ms, end).closed_before(now)
