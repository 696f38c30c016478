"""`trading-ai backtest --walk-forward`: one row per period plus the total, summary.json with every period;
the same output with 1 and 2 worker processes (periods run in a process pool, seeds per period)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.smoke_cli import DATA, smoke_cli


def _walk_forward(reports: Path, workers: int) -> tuple[list[str], bytes]:
    proc = smoke_cli(
        "backtest",
        "--timeframe",
        "5m",
        "--walk-forward",
        "--periods",
        "3",
        "--workers",
        str(workers),
        env={"TRADING_AI_BACKTEST_REPORTS_DIR": str(reports), "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    # everything up to the timing line (wall time and worker count differ by design)
    table = lines[: next(i for i, line in enumerate(lines) if line.startswith("engine wall:"))]
    return table, (reports / "ci-smoke" / "summary.json").read_bytes()


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_walk_forward_output_is_the_same_with_one_and_two_workers(tmp_path: Path) -> None:
    table1, summary1 = _walk_forward(tmp_path / "w1", workers=1)
    table2, summary2 = _walk_forward(tmp_path / "w2", workers=2)
    assert table1 == table2
    assert summary1 == summary2
    s = json.loads(summary1)
    periods = s["periods"]
    assert [p["index"] for p in periods] == [0, 1, 2]
    # consecutive, non-overlapping spans covering the whole backtest period
    assert periods[0]["period"]["start_ms"] == s["period"]["start_ms"]
    assert all(a["period"]["end_ms"] == b["period"]["start_ms"] for a, b in itertools.pairwise(periods))
    assert periods[-1]["period"]["end_ms"] == s["period"]["end_ms"]
    assert s["total"]["trades"] == sum(p["trades"] for p in periods) > 0
    assert s["total"]["bars"] == sum(p["bars"] for p in periods)
    assert len({p["seed"] for p in periods}) == 3
    rows = [line for line in table1 if line.startswith("│")]
    assert [r.split("│")[1].strip() for r in rows] == ["1", "2", "3", "total"]
    for k in (1, 2, 3):
        assert (tmp_path / "w1" / "ci-smoke" / f"period-{k:02d}" / "report.html").is_file()
