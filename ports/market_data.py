"""MarketData: where candles come from (exchange, bundled files, parquet store, replay)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.market import Candles, Timeframe


@runtime_checkable
class MarketData(Protocol):
    """Read-only candle source.

    Contract:
    - `symbols()` lists served symbols as "BASE/QUOTE" strings, sorted, no duplicates.
    - `timeframes()` lists served timeframes, ascending by duration.
    - `candles(symbol, timeframe, start_ms, end_ms)` returns bars with start_ms <= ts < end_ms
      (either bound None = open), ts = bar open time in epoch ms UTC, strictly increasing, no
      duplicates, and only CLOSED bars (a bar still forming is never returned). The result's
      `symbol` and `timeframe` echo the request. An empty range returns empty Candles, not an error.
    - Unknown symbol -> `ports.errors.UnknownSymbol`; unknown timeframe -> `ports.errors.UnknownTimeframe`.
    - Calls are repeatable: the same request returns the same bars (for a closed range).
    """

    def symbols(self) -> list[str]: ...

    def timeframes(self) -> list[Timeframe]: ...

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles: ...
