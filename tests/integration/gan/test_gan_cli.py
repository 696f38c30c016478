"""`trading-ai gan report` on the real candles: the generator is fitted on the training bars, graded,
and saved with its report beside it (a 3-step generator: the mechanics, and it must FAIL honestly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composition.cli import main
from composition.config import DEFAULT_SHARED_DATA

DATA = DEFAULT_SHARED_DATA / "candles" / "binance" / "BTC_USDT-5m.parquet"


@pytest.mark.skipif(not DATA.is_file(), reason="real candles not present")
def test_gan_report_saves_generator_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("TRADING_AI_TRAINING_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRADING_AI_TRAINING_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TRADING_AI_DATA_STORE_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRADING_AI_DATABASE_URL", f"sqlite:///{tmp_path}/none.sqlite3")
    monkeypatch.setenv("TRADING_AI_GAN_STEPS", "3")
    rc = main(["--env-file", "", "gan", "report", "--quick", "--symbols", "BTC"])
    out = capsys.readouterr().out
    assert rc == 1  # a 3-step generator fails its quality thresholds: exit 1, FAIL reported
    assert "RESULT gan quality=FAIL" in out
    gan_dir = tmp_path / "models" / "gan"
    assert (gan_dir / "BTC_USDT.pt").is_file() and (gan_dir / "report.md").is_file()
    rep = json.loads((gan_dir / "BTC_USDT_report.json").read_text())
    names = {c["name"] for c in rep["checks"]}
    assert {"w1_1bar", "w1_12bar", "w1_288bar", "vol_clustering", "discriminative", "predictive_ratio"} <= names
    assert rep["passed"] is False


def test_gan_share_above_cap_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADING_AI_GAN_SHARE", "0.25")
    assert main(["--env-file", "", "gan", "report", "--quick"]) == 2
    assert "0.25" in capsys.readouterr().err
