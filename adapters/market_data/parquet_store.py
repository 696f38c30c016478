"""The cleaned candle store: one parquet file per exchange/symbol/timeframe under `data.store_dir`.

Layout: `<store_dir>/raw/<exchange>/<BASE_QUOTE>-<tf>.parquet`, the same columns as the bundled
data, plus `quality.json` (one cleaning report per file, every finding located). `data import`
writes bars cleaned by `domain.cleaning` (`replace`); `data fetch` merges by bar open time
(`append`: a re-fetched bar replaces the stored one, counted in `replaced`), so an interrupted
fetch resumes from `last_ts` without duplicating anything. Training, features, backtests and
replays read candles from here only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from adapters.market_data.parquet_io import (
    CorruptCandleFile,
    file_name,
    parse_file_name,
    read_candles,
    write_candles,
)
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

    QUALITY_FILE = "quality.json"

    @property
    def quality_path(self) -> Path:
        return self._root / self.QUALITY_FILE

    def quality(self) -> list[dict[str, Any]]:
        """The stored cleaning reports (QualityReport.to_dict), [] when none were written."""
        try:
            data = json.loads(self.quality_path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise CorruptCandleFile(f"cannot read {self.quality_path}: {exc}; rerun `trading-ai data import`") from exc
        return list(data) if isinstance(data, list) else []

    def write_quality(self, reports: list[dict[str, Any]]) -> None:
        """Merge reports into quality.json by (symbol, timeframe); the newest report of a file wins."""

        def key(r: dict[str, Any]) -> tuple[str, str]:
            return (str(r["symbol"]), str(r["timeframe"]))

        merged = {key(r): r for r in self.quality()}
        merged.update({key(r): r for r in reports})
        self._root.mkdir(parents=True, exist_ok=True)
        tmp = self.quality_path.with_name(f"{self.QUALITY_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(merged.values(), key=lambda r: key(r)), indent=1))
        os.replace(tmp, self.quality_path)

    def replace(self, candles: Candles) -> None:
        """Overwrite the stored file with exactly these bars (used by `data import`)."""
        write_candles(self.path(candles.symbol, candles.timeframe), candles)
        self._cache[(candles.symbol, candles.timeframe)] = candles
