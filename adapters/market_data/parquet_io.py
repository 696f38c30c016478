"""Reading and writing one candle parquet file (columns timestamp, open, high, low, close, volume).

The layout is the bundled data's: `timestamp` is the bar open time as timestamp[ms, UTC]. Writes
go to a temporary file first and are renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from domain.cleaning import sort_dedupe_order
from domain.errors import DataError
from domain.market import Candles, InvalidTimeframe, Timeframe

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class CorruptCandleFile(DataError):
    """A candle parquet file cannot be read or lacks the expected columns."""


def read_candles(path: Path, symbol: str, timeframe: Timeframe, rebuild_hint: str) -> Candles:
    """Load a file as Candles (sorted, duplicates dropped, last wins); unreadable -> CorruptCandleFile."""
    try:
        table = pq.read_table(path, columns=list(COLUMNS))
    except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
        raise CorruptCandleFile(f"cannot read candle file {path}: {exc}; {rebuild_hint}") from exc
    try:
        ts_col = table.column("timestamp")
        if pa.types.is_timestamp(ts_col.type):
            ts_col = ts_col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        ts = np.asarray(ts_col.to_numpy(), dtype=np.int64)
        cols = [np.asarray(table.column(c).to_numpy(), dtype=np.float64) for c in COLUMNS[1:]]
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise CorruptCandleFile(f"candle file {path} has unexpected columns: {exc}; {rebuild_hint}") from exc
    order, _ = sort_dedupe_order(ts)
    return Candles(symbol, timeframe, ts[order], *(c[order] for c in cols))


def write_candles(path: Path, candles: Candles) -> None:
    """Write atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "timestamp": pa.array(candles.ts, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "open": candles.open,
            "high": candles.high,
            "low": candles.low,
            "close": candles.close,
            "volume": candles.volume,
        }
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def file_name(symbol: str, timeframe: Timeframe) -> str:
    """`BTC/USDT`, 1h -> `BTC_USDT-1h.parquet` (the bundled data's and freqtrade's naming)."""
    return f"{symbol.replace('/', '_')}-{timeframe.value}.parquet"


def parse_file_name(name: str) -> tuple[str, Timeframe] | None:
    """Inverse of `file_name`; None for names that do not follow it."""
    if not name.endswith(".parquet") or "-" not in name:
        return None
    stem = name[: -len(".parquet")]
    pair, _, tf_text = stem.rpartition("-")
    if "_" not in pair:
        return None
    try:
        tf = Timeframe.parse(tf_text)
    except InvalidTimeframe:
        return None
    return pair.replace("_", "/", 1), tf
