"""The CLI as a user runs it: train --quick on REAL candles, evaluate, models list/promote/check-drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from composition.cli import main
from composition.config import DEFAULT_SHARED_DATA

pytestmark = pytest.mark.skipif(
    not (DEFAULT_SHARED_DATA / "candles" / "binance").is_dir(), reason="real candles not available"
)


def test_train_evaluate_list_promote_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADING_AI_TRAINING_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRADING_AI_TRAINING_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TRADING_AI_DATABASE_URL", f"sqlite:///{tmp_path}/none.sqlite3")
    assert main(["--env-file", "", "evaluate"]) == 2  # nothing trained yet: one-line user error
    rc = main(["--env-file", "", "train", "--quick", "--symbols", "BTC,ETH", "--epochs", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert "registered v1.0.0" in out and "promotion gates" in out
    from training.registry import FileModelRegistry

    passed = FileModelRegistry(tmp_path / "models").entry("v1.0.0")["gates_passed"]
    assert rc == (0 if passed else 1)  # a FAIL verdict of the gates is exit 1, not a user mistake
    assert main(["--env-file", "", "evaluate"]) == (0 if passed else 1)
    out = capsys.readouterr().out
    for text in ("BTC/USDT", "ETH/USDT", "lightgbm", "majority", "ECE", "cal", "precision", "expectancy"):
        assert text in out
    assert main(["--env-file", "", "models", "list"]) == 0
    assert "v1.0.0" in capsys.readouterr().out
    # a bundle that failed its gates is refused without --force (real data: the usual case)
    rc = main(["--env-file", "", "models", "promote", "v1.0.0", "--no-db"])
    assert rc == (0 if passed else 2)
    assert main(["--env-file", "", "models", "promote", "v1.0.0", "--no-db", "--force"]) == 0
    assert (tmp_path / "models" / "promoted" / "TAG").read_text().strip() == "v1.0.0"
    rc = main(["--env-file", "", "models", "check-drift"])
    out = capsys.readouterr().out
    assert rc in (0, 1) and "accuracy" in out and "feature_drift" in out and "calibration" in out


def test_run_quick_training_for_the_demo(tmp_path: Path) -> None:
    """The demo's entry: quick profile on REAL candles through an injected loader, registered."""
    from types import SimpleNamespace

    from adapters.market_data.bundled import BundledCandles
    from training.quick import run_quick_training

    src = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance")
    cfg = SimpleNamespace(
        seed=3, training=SimpleNamespace(models_dir=str(tmp_path / "m"), runs_dir=str(tmp_path / "r"), device="cpu")
    )
    rep = run_quick_training(cfg, ["BTC"], "5m", load_candles=src.candles)
    assert rep["tag"] == "v1.0.0" and Path(rep["report_path"]).is_file()
    assert set(rep["test"]["BTC/USDT"]) >= {"lstm", "transformer", "ensemble", "lightgbm", "majority"}
    assert 0.35 < rep["test"]["BTC/USDT"]["ensemble"]["accuracy"] < 0.65


def test_evaluate_grades_exactly_the_signals_backtest_emits_on_the_test_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gates grade what the product emits: per coin, `evaluate --json` reports as many graded
    signals as `backtest --block test` emits on the bundle's recorded test block (same pipeline, same
    settings, same costs, same seed, the enabled plugins' members included). No conservative bias and
    a 0.51 LOW tier, so the quick model emits enough signals for the comparison to mean something."""
    import json

    monkeypatch.setenv("TRADING_AI_TRAINING_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRADING_AI_TRAINING_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TRADING_AI_BACKTEST_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("TRADING_AI_DATABASE_URL", f"sqlite:///{tmp_path}/none.sqlite3")
    monkeypatch.setenv("TRADING_AI_DATA_SYMBOLS", "BTC/USDT,ETH/USDT")
    monkeypatch.setenv("TRADING_AI_CONFIDENCE_CONSERVATIVE_BIAS", "0")
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", "0.51")
    costs = ["--cost-model", "fixed", "--spread-bps", "6", "--slippage-bps", "2"]
    main(["--env-file", "", "train", "--quick", "--symbols", "BTC,ETH", "--epochs", "1", "--no-progress", *costs])
    capsys.readouterr()
    main(["--env-file", "", "evaluate", "--json"])
    graded = json.loads(capsys.readouterr().out)["signals_graded"]
    assert main(["--env-file", "", "backtest", "--model", "v1.0.0", "--block", "test", *costs, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert set(graded) == {"BTC/USDT", "ETH/USDT"}
    assert graded == summary["signals_by_pair"]
    assert sum(graded.values()) > 0
    # the backtest ran exactly the recorded test block of each pair
    from training.registry import FileModelRegistry

    rng = FileModelRegistry(tmp_path / "models").entry("v1.0.0")["data_range"]["BTC/USDT"]["test"]["range"]
    assert summary["period"]["start_ms"] == rng[0]
    # a user mistake: the baseline has no test block
    assert main(["--env-file", "", "backtest", "--model", "baseline", "--block", "test", *costs]) == 2
