"""BundledCandles: the real Binance spot candles shipped beside the project (../shared/data).

Files are named `BASE_QUOTE-TF.parquet` (e.g. `BTC_USDT-1h.parquet`); the directory comes from
config `data.candles_dir`. Everything in them is history, so every bar is closed. Each file is
read once and kept in memory.
"""

from __future__ import annotations

from pathlib import Path

from adapters.market_data.parquet_io import RawRows, parse_file_name, read_candles, read_rows
from domain.errors import DataError
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe


class BundledCandles:
    """MarketData over a directory of candle parquet files."""

    def __init__(self, candles_dir: str | Path) -> None:
        self._dir = Path(candles_dir)
        if not self._dir.is_dir():
            raise DataError(
                f"bundled candles directory {self._dir} does not exist; set data.candles_dir "
                "(env CANDLES_DIR) to the folder holding BTC_USDT-1h.parquet etc."
            )
        self._files: dict[tuple[str, Timeframe], Path] = {}
        for path in sorted(self._dir.glob("*.parquet")):
            parsed = parse_file_name(path.name)
            if parsed is not None:
                self._files[parsed] = path
        self._cache: dict[tuple[str, Timeframe], Candles] = {}

    @property
    def directory(self) -> Path:
        return self._dir

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self._files})

    def timeframes(self) -> list[Timeframe]:
        return sorted({tf for _, tf in self._files}, key=lambda t: t.ms)

    def timeframes_of(self, symbol: str) -> list[Timeframe]:
        return sorted((tf for s, tf in self._files if s == symbol), key=lambda t: t.ms)

    def path_of(self, symbol: str, timeframe: Timeframe) -> Path:
        self._check(symbol, timeframe)
        return self._files[(symbol, timeframe)]

    def _check(self, symbol: str, timeframe: Timeframe) -> None:
        if symbol not in self.symbols():
            raise UnknownSymbol(f"unknown symbol {symbol!r} in {self._dir}; valid symbols: {', '.join(self.symbols())}")
        if (symbol, timeframe) not in self._files:
            valid = ", ".join(tf.value for tf in self.timeframes_of(symbol))
            raise UnknownTimeframe(f"no {timeframe} candles for {symbol} in {self._dir}; valid timeframes: {valid}")

    def _hint(self) -> str:
        return (
            "restore it from the shared data (see its MANIFEST.json sha256) "
            "or fetch the same bars with `trading-ai data fetch`"
        )

    def rows(self, symbol: str, timeframe: Timeframe) -> RawRows:
        """The file's rows as stored (file order, duplicates kept): what `data import` cleans."""
        return read_rows(self.path_of(symbol, Timeframe.parse(timeframe)), self._hint())

    def _load(self, symbol: str, timeframe: Timeframe) -> Candles:
        key = (symbol, timeframe)
        if key not in self._cache:
            path = self.path_of(symbol, timeframe)
            self._cache[key] = read_candles(path, symbol, timeframe, rebuild_hint=self._hint())
        return self._cache[key]

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles:
        return self._load(symbol, Timeframe.parse(timeframe)).between(start_ms, end_ms)
