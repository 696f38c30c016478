"""The seeded CI smoke backtest is bit-for-bit repeatable: two runs, identical summary.json bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_smoke_backtest_summary_is_byte_identical(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        env_reports = tmp_path / f"r{k}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "composition",
                "--config",
                str(ROOT / "configs" / "ci-smoke.toml"),
                "--env-file",
                "",
                "backtest",
                "--timeframe",
                "5m",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": "/usr/bin:/bin",
                "TRADING_AI_BACKTEST_REPORTS_DIR": str(env_reports),
                "CANDLES_DIR": str(DATA),
            },
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = env_reports / "ci-smoke" / "summary.json"
        html = env_reports / "ci-smoke" / "report.html"
        assert summary.is_file() and html.is_file()
        assert "plotly-figure" in html.read_text()  # the interactive report (plotly, inline)
        outs.append(summary.read_bytes())
    assert outs[0] == outs[1]
    assert b'"trades"' in outs[0]
