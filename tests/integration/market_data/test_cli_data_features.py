"""`trading-ai data ...` and `features ...` as a user runs them (in-process), on the real candles."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from adapters.market_data.bundled import BundledCandles
from composition.cli import main
from composition.config import DEFAULT_SHARED_DATA
from domain.market import Timeframe
from tests.integration.market_data.fake_binance import FakeBinance


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("store")
    assert main(["data", "--store-dir", str(root), "import", "--json"]) == 0
    return root


def test_import_loads_every_bundled_file_and_writes_a_quality_report(imported: Path) -> None:
    report = json.loads((imported / "raw" / "binance" / "quality.json").read_text())
    assert len(report) == 8
    assert {(r["symbol"], r["timeframe"]) for r in report} >= {("BTC/USDT", "1m"), ("BNB/USDT", "1h")}
    assert sum(r["rows_out"] for r in report) == 2 * 130_708 + 3 * 87_840 + 3 * 43_803


def test_status_lists_the_2021_04_25_outage_on_every_1h_file(
    imported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "--store-dir", str(imported), "status"]) == 0
    out = capsys.readouterr().out
    outage = [line for line in out.splitlines() if "2021-04-25 05:00" in line]
    assert len(outage) == 3 and all("1h" in line and "3" in line for line in outage)
    assert "130,708" in out


def test_build_is_versioned_cached_and_a_new_parameter_makes_a_new_version(
    imported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["features", "--store-dir", str(imported), "build", "--timeframe", "1h", "--symbols", "BTC/USDT"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("built: version ")
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("cached: version ")
    assert main([*args, "--param", "atr_window=21"]) == 0
    third = capsys.readouterr().out
    assert third.startswith("built: version ") and third.split()[2] != first.split()[2]
    files = sorted(p.name for p in (imported / "features").glob("features_*_1h_*.parquet"))
    assert len(files) == 2
    manifest = json.loads((imported / "features" / "manifest.json").read_text())
    assert {v["meta"]["params"]["atr_window"] for v in manifest["versions"]} == {14, 21}


def test_check_leakage_passes_on_the_real_features(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "features",
            "--store-dir",
            str(imported),
            "check-leakage",
            "--timeframes",
            "5m,1h",
            "--symbols",
            "ETH/USDT",
            "--bars",
            "4000",
            "--cuts",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "passed:" in out and "FAIL" not in out


def test_bad_input_is_one_line_exit_2(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["features", "--store-dir", str(imported), "build", "--timeframe", "7m"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "valid timeframes: 1m, 5m, 15m, 1h, 4h, 1d" in err[0]
    assert main(["features", "--store-dir", str(imported), "--source", "store", "build", "--symbols", "XRP/USDT"]) == 2
    assert "valid symbols: BNB/USDT, BTC/USDT, ETH/USDT" in capsys.readouterr().err


def test_fetch_against_the_fake_exchange_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance").candles("BNB/USDT", Timeframe.H1)
    # the adapter's clock is the wall clock here, so the fake's "now" is too: every bar is closed
    fake = FakeBinance({("BNBUSDT", "1h"): real}, now_ms=int(time.time() * 1000))
    with fake.running():
        rc = main(
            [
                "data",
                "--store-dir",
                str(tmp_path),
                "fetch",
                "--symbols",
                "BNB/USDT",
                "--timeframe",
                "1h",
                "--since",
                "2025-09-01",
                "--api-url",
                fake.url,
            ]
        )
        assert rc == 0
        out = capsys.readouterr().out
        assert "BNB/USDT" in out
        assert (
            main(
                [
                    "data",
                    "--store-dir",
                    str(tmp_path),
                    "fetch",
                    "--symbols",
                    "BNBX/USDT",
                    "--timeframe",
                    "1h",
                    "--api-url",
                    fake.url,
                ]
            )
            == 2
        )
        assert "valid symbols: BNB/USDT" in capsys.readouterr().err
    assert main(["data", "--store-dir", str(tmp_path), "status", "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored[0]["rows_out"] == len(real.between(1_756_684_800_000, None))  # from 2025-09-01 on
