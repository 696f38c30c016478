"""`trading-ai tune` as a user runs it, on the real candles (two weeks of 5m BTC/ETH, configs/ci-smoke.toml):
best trials, importances, the overfitting check and the test block printed; --json carries them;
--resume runs only the trials still missing (the refusal without --resume: tests/integration/tuning)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.smoke_cli import DATA, smoke_cli


def _tune(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return smoke_cli(
        "tune",
        "--workers",
        "1",
        "--study",
        "e2e",
        *args,
        env={
            "MODELS_DIR": str(tmp / "models"),
            "TRADING_AI_TUNING_FOLDS": "2",
            "TRADING_AI_TUNING_BATCH": "2",
            "TRADING_AI_TUNING_CHALLENGE_RUNS": "3",
            "OMP_NUM_THREADS": "1",
            "COLUMNS": "200",
            "TRADING_AI_DATA_STORE_DIR": str(tmp / "store"),
        },
        timeout=240,
    )


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_tune_reports_and_resumes(tmp_path: Path) -> None:
    first = _tune(tmp_path, "--trials", "2", "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    doc: dict[str, Any] = json.loads(first.stdout)
    human = first.stderr
    for line in (
        "best trials",
        "parameter importances",
        "overfitting check",
        "deflated Sharpe ratio",
        "PBO",
        "verdict:",
        "final test block, scored now",
    ):
        assert line in human, line
    assert doc["trials_run"] == 2 and doc["best_trials"]
    assert {"dsr", "daily_sharpe"} <= set(doc["overfitting"]["deflated_sharpe"])
    assert doc["test_block"]["trial"] == doc["best_trials"][0]["number"]
    assert (tmp_path / "models" / "optuna.sqlite3").is_file()

    resumed = _tune(tmp_path, "--trials", "3", "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout)["trials_run"] == 1
    assert "2 trials so far" in resumed.stderr
