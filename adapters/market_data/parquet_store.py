"""The raw candle store: one parquet file per exchange/symbol/timeframe under `data.store_dir`.

Layout: `<store_dir>/raw/<exchange>/<BASE_QUOTE>-<tf>.parquet`, the same columns as the bundled
data. `append` merges by bar open time (a re-fetched bar replaces the stored one), so an
interrupted fetch resumes from `last_ts` without duplicating anything.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from adapters.market_data.parquet_io import file_name, parse_file_name, read_candles, write_candles
from domain.cleaning import sort_dedupe_order
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe


@attrs.frozen
class AppendResult:
    added: int
    replaced: int
    rows: int


class ParquetCandleStore:
    """MarketData over the raw store, plus the writes `data fetch` and `data import` need."""

    def __init__(self, store_dir: str | Path, exchange: str = "binance") -> None:
        self._root = Path(store_dir) / "raw" / exchange
        self._exchange = exchange
        self._cache: dict[tuple[str, Timeframe], Candles] = {}

    @property
    def root(self) -> Path:
        return self._root

    def path(self, symbol: str, timeframe: Timeframe) -> Path:
        return self._root / file_name(symbol, timeframe)

    def _entries(self) -> list[tuple[str, Timeframe]]:
        if not self._root.is_dir():
            return []
        out = [parse_file_name(p.name) for p in sorted(self._root.glob("*.parquet"))]
        return [e for e in out if e is not None]

    def entries(self) -> list[tuple[str, Timeframe]]:
        """Stored (symbol, timeframe) pairs, sorted by symbol then timeframe duration."""
        return sorted(self._entries(), key=lambda e: (e[0], e[1].ms))

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self._entries()})

    def timeframes(self) -> list[Timeframe]:
        return sorted({tf for _, tf in self._entries()}, key=lambda t: t.ms)

    def _hint(self, symbol: str, timeframe: Timeframe) -> str:
        return (
            f"delete it and rebuild with `trading-ai data fetch --symbols {symbol} --timeframe {timeframe}` "
            "(or `trading-ai data import` for the bundled candles)"
        )

    def load(self, symbol: str, timeframe: Timeframe) -> Candles | None:
        """Stored bars, or None when nothing is stored for the pair; corrupt -> CorruptCandleFile."""
        key = (symbol, timeframe)
        if key in self._cache:
            return self._cache[key]
        path = self.path(symbol, timeframe)
        if not path.exists():
            return None
        c = read_candles(path, symbol, timeframe, self._hint(symbol, timeframe))
        self._cache[key] = c
        return c

    def last_ts(self, symbol: str, timeframe: Timeframe) -> int | None:
        c = self.load(symbol, timeframe)
        return None if c is None else c.last_ts

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles:
        tf = Timeframe.parse(timeframe)
        if symbol not in self.symbols():
            valid = ", ".join(self.symbols()) or "none (run `trading-ai data import` or `data fetch`)"
            raise UnknownSymbol(f"unknown symbol {symbol!r} in store {self._root}; valid symbols: {valid}")
        c = self.load(symbol, tf)
        if c is None:
            valid = ", ".join(t.value for s, t in self.entries() if s == symbol)
            raise UnknownTimeframe(f"no {tf} candles for {symbol} in store {self._root}; valid timeframes: {valid}")
        return c.between(start_ms, end_ms)

    def append(self, candles: Candles) -> AppendResult:
        """Merge `candles` into the stored file (new bars added, same-ts bars replaced)."""
        old = self.load(candles.symbol, candles.timeframe)
        if old is None or len(old) == 0:
            merged = candles
            added, replaced = len(candles), 0
        else:
            cols = ("ts", "open", "high", "low", "close", "volume")
            joined = {k: np.concatenate((getattr(old, k), getattr(candles, k))) for k in cols}
            order, dupes = sort_dedupe_order(joined["ts"])
            merged = Candles(candles.symbol, candles.timeframe, *(joined[k][order] for k in cols))
            replaced = dupes
            added = len(candles) - dupes
        if added or replaced:
            write_candles(self.path(candles.symbol, candles.timeframe), merged)
        self._cache[(candles.symbol, candles.timeframe)] = merged
        return AppendResult(added=added, replaced=replaced, rows=len(merged))

    def replace(self, candles: Candles) -> None:
        """Overwrite the stored file with exactly these bars (used by `data import`)."""
        write_candles(self.path(candles.symbol, candles.timeframe), candles)
        self._cache[(candles.symbol, candles.timeframe)] = candles
