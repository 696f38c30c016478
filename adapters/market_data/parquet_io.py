"""Reading and writing one candle parquet file (columns timestamp, open, high, low, close, volume).

The layout is the bundled data's: `timestamp` is the bar open time as timestamp[ms, UTC]. Writes
go to a temporary file first and are renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from domain.cleaning import utc_text
from domain.errors import DataError
from domain.market import Candles, InvalidTimeframe, Timeframe

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class CorruptCandleFile(DataError):
    """A candle parquet file cannot be read or lacks the expected columns."""


@attrs.frozen(eq=False)
class RawRows:
    """A candle file's rows exactly as stored: file order, duplicates and all (for `data import`)."""

    ts: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]


def read_rows(path: Path, rebuild_hint: str) -> RawRows:
    """Every row of the file in file order, nothing dropped or reordered; unreadable -> CorruptCandleFile."""
    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CorruptCandleFile(f"cannot read candle file {path}: {first}; {rebuild_hint}") from None
    missing = [c for c in COLUMNS if c not in names]
    if missing:  # one line naming what is missing, not arrow's schema dump
        raise CorruptCandleFile(
            f"candle file {path} lacks the column(s) {', '.join(missing)} (it has "
            f"{', '.join(names[:8]) or 'none'}); {rebuild_hint}"
        )
    try:
        table = pq.read_table(path, columns=list(COLUMNS))
    except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CorruptCandleFile(f"cannot read candle file {path}: {first}; {rebuild_hint}") from None
    try:
        ts_col = table.column("timestamp")
        if pa.types.is_timestamp(ts_col.type):
            ts_col = ts_col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        ts = np.asarray(ts_col.to_numpy(), dtype=np.int64)
        cols = [np.asarray(table.column(c).to_numpy(), dtype=np.float64) for c in COLUMNS[1:]]
    except (pa.ArrowException, ValueError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CorruptCandleFile(f"candle file {path} has unexpected column types: {first}; {rebuild_hint}") from None
    return RawRows(ts, *cols)


def read_candles(path: Path, symbol: str, timeframe: Timeframe, rebuild_hint: str) -> Candles:
    """Load a file as Candles. Unsorted rows are sorted; a duplicated bar is never resolved here (which
    copy to keep is the cleaning policy's call, `trading-ai data import`): it raises CorruptCandleFile
    naming the bar, as does an unreadable file."""
    rows = read_rows(path, rebuild_hint)
    ts = rows.ts
    cols: tuple[npt.NDArray[np.float64], ...] = (rows.open, rows.high, rows.low, rows.close, rows.volume)
    if ts.shape[0] > 1 and bool(np.any(np.diff(ts) <= 0)):
        order = np.argsort(ts, kind="stable")
        ts = ts[order]
        cols = tuple(c[order] for c in cols)
        dup = np.flatnonzero(ts[1:] == ts[:-1])
        if dup.shape[0]:
            raise CorruptCandleFile(
                f"candle file {path} holds {dup.shape[0]} duplicated bar(s), the first at {utc_text(int(ts[dup[0]]))}; "
                "`trading-ai data import` reports and resolves them by data.conflict_policy, or " + rebuild_hint
            )
    return Candles(symbol, timeframe, ts, *cols)


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
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent writers never share a temp file
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
