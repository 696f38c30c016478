"""Done-when of the data work: a candle file with a duplicated bar (different close), a bar with
high < low and a 3-hour hole: `trading-ai data import` reports each by kind and bar time (table and
quality.json), fills nothing and overwrites nothing silently; the policy decides, and says so.

The file is SYNTHETIC (mechanics only): 12 hourly bars written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.market_data.parquet_io import CorruptCandleFile, read_candles
from adapters.market_data.parquet_store import ParquetCandleStore
from composition.cli import main
from domain.errors import UserError
from domain.market import Timeframe

H = 3_600_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def _write_broken_file(folder: Path) -> Path:
    hours = [0, 1, 2, 3, 3, 4, 5, 9, 10, 11]  # bar 03:00 twice; 06:00-08:00 missing (a 3-hour hole)
    close = [100.0, 101.0, 102.0, 103.0, 107.5, 104.0, 105.0, 106.0, 107.0, 108.0]  # the copies differ
    high = [c + 1 for c in close]
    low = [c - 1 for c in close]
    high[5], low[5] = 98.0, 99.0  # bar 04:00: high < low
    ts = [T0 + h * H for h in hours]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "TST_USDT-1h.parquet"
    pq.write_table(
        pa.table(
            {
                "timestamp": pa.array(ts, type=pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
                "open": close,
                "high": high,
                "low": low,
                "close": close,
                "volume": [1.0] * len(ts),
            }
        ),
        path,
    )
    return path


def _import(tmp_path: Path, policy: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    src = tmp_path / "candles"
    _write_broken_file(src)
    rc = _with_policy(tmp_path, src, policy, extra)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _with_policy(tmp_path: Path, src: Path, policy: str, extra: tuple[str, ...]) -> int:
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DATA_CONFLICT_POLICY", policy)
        return main(
            [
                "--env-file",
                "",
                "data",
                "--store-dir",
                str(tmp_path / "store"),
                "import",
                "--candles-dir",
                str(src),
                *extra,
            ]
        )
    finally:
        mp.undo()


def test_each_problem_is_reported_by_kind_and_bar_and_nothing_is_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = _import(tmp_path, "keep-first", capsys)
    assert rc == 0, err
    # the table names each finding with its bar
    assert "conflicting_duplicate" in out and "2025-01-01 03:00" in out and "close 103 vs 107.5" in out
    assert "ohlc_violation" in out and "2025-01-01 04:00" in out and "high 98 < low 99" in out
    assert "gap" in out and "2025-01-01 06:00" in out
    report = json.loads((tmp_path / "store" / "raw" / "binance" / "quality.json").read_text())
    (r,) = report
    assert r["policy"] == "keep-first" and r["conflicting_duplicates"] == 1 and r["ohlc_violations"] == 1
    kinds = {(f["kind"], f["utc"]) for f in r["findings"]}
    assert ("conflicting_duplicate", "2025-01-01 03:00 UTC") in kinds
    assert ("ohlc_violation", "2025-01-01 04:00 UTC") in kinds
    assert ("gap", "2025-01-01 06:00 UTC") in kinds
    gap = next(f for f in r["findings"] if f["kind"] == "gap")
    assert gap["detail"].startswith("3 bar(s) missing")
    stored = ParquetCandleStore(tmp_path / "store").candles("TST/USDT", Timeframe.H1)
    assert len(stored) == 9  # 10 rows - 1 duplicate; nothing filled into the hole
    assert stored.close[stored.ts.tolist().index(T0 + 3 * H)] == 103.0  # the first copy, as the policy says
    assert T0 + 7 * H not in stored.ts.tolist()


def test_refuse_writes_nothing_and_says_which_bars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = _import(tmp_path, "refuse", capsys)
    assert rc == 2
    line = err.strip().splitlines()[-1]
    assert "conflicting_duplicate at 2025-01-01 03:00 UTC" in line and "ohlc_violation at 2025-01-01 04:00 UTC" in line
    assert "data.conflict_policy=refuse" in line
    assert not (tmp_path / "store" / "raw" / "binance" / "TST_USDT-1h.parquet").exists()


def test_drop_bar_drops_both_bars_and_reports_the_new_holes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = _import(tmp_path, "drop-bar", capsys, "--json")
    assert rc == 0, err
    (r,) = json.loads((tmp_path / "store" / "raw" / "binance" / "quality.json").read_text())
    stored = ParquetCandleStore(tmp_path / "store").candles("TST/USDT", Timeframe.H1)
    assert T0 + 3 * H not in stored.ts.tolist() and T0 + 4 * H not in stored.ts.tolist()
    assert r["dropped_bars"] == 2 and r["missing_bars"] == 5
    assert {f["utc"] for f in r["findings"] if f["kind"] == "gap"} == {"2025-01-01 03:00 UTC", "2025-01-01 06:00 UTC"}


def test_reading_a_file_with_a_duplicated_bar_never_picks_a_copy(tmp_path: Path) -> None:
    path = _write_broken_file(tmp_path)
    with pytest.raises(CorruptCandleFile, match=r"duplicated bar.*2025-01-01 03:00 UTC"):
        read_candles(path, "TST/USDT", Timeframe.H1, "rebuild it")


def test_commands_read_the_cleaned_store_importing_what_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from composition.candles import cleaned_store
    from composition.config import load_config

    src = tmp_path / "candles"
    _write_broken_file(src)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DATA_CONFLICT_POLICY", "drop-bar")
        mp.setenv("CANDLES_DIR", str(src))
        cfg = load_config(env_file="")
    finally:
        mp.undo()
    store = cleaned_store(cfg, [("TST/USDT", Timeframe.H1)], str(tmp_path / "store"))
    assert "cleaned store lacked TST/USDT 1h" in capsys.readouterr().err
    assert (
        len(store.candles("TST/USDT", Timeframe.H1)) == 7
    )  # 9 bars less 2 dropped: cleaned under the configured policy
    assert (tmp_path / "store" / "raw" / "binance" / "quality.json").is_file()
    # a pair already in the store is read from it, not re-imported
    cleaned_store(cfg, [("TST/USDT", Timeframe.H1)], str(tmp_path / "store"))
    assert capsys.readouterr().err == ""
    with pytest.raises(UserError, match="run `trading-ai data fetch --symbols XRP/USDT"):
        cleaned_store(cfg, [("XRP/USDT", Timeframe.H1)], str(tmp_path / "store"))
