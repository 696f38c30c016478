"""`trading-ai rl train --quick` / `rl evaluate` on REAL candles against a real (tiny) supervised bundle:
the RESULT line, the registry record, the failure report on FAIL, and a rerun with the same seed giving
the same agent and the same figures."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import attrs
import pytest
import torch

from composition.cli import main
from composition.config import DEFAULT_SHARED_DATA

CANDLES = DEFAULT_SHARED_DATA / "candles" / "binance"
pytestmark = pytest.mark.skipif(not CANDLES.is_dir(), reason="real candles not available")
RESULT = re.compile(r"RESULT rl_gate=(PASS|FAIL) oos_improvement_pct=(-?[\d.]+|nan) seeds=(\d+) stable=(true|false)")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick profile on the last 3000 real 5m bars of BTC and ETH, one epoch (as the predictor contract)."""
    from adapters.market_data.bundled import BundledCandles
    from domain.market import Timeframe
    from training.pipeline import quick_settings
    from training.service import train_and_record

    torch.set_num_threads(1)
    src = BundledCandles(CANDLES)
    s = quick_settings(seed=11, device="cpu")
    s = attrs.evolve(
        s,
        max_bars=3000,
        leakage_cuts=1,
        lstm_loop=attrs.evolve(s.lstm_loop, epochs=1),
        tf_loop=attrs.evolve(s.tf_loop, epochs=1),
    )
    root = tmp_path_factory.mktemp("rl_bundle")
    train_and_record(
        {p: src.candles(p, Timeframe.M5) for p in ("BTC/USDT", "ETH/USDT")}, s, root / "models", root / "runs"
    )
    return root / "models"


def _env(monkeypatch: pytest.MonkeyPatch, root: Path, models: Path) -> None:
    monkeypatch.setenv("TRADING_AI_TRAINING_MODELS_DIR", str(models))
    monkeypatch.setenv("TRADING_AI_TRAINING_RUNS_DIR", str(root / "runs"))
    monkeypatch.setenv("TRADING_AI_DATA_STORE_DIR", str(root / "data"))
    monkeypatch.setenv("TRADING_AI_DATABASE_URL", f"sqlite:///{root}/none.sqlite3")


def test_rl_train_quick_then_evaluate(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for k in range(2):  # the same command twice from the same bundle: identical agent and figures
        models = tmp_path / f"m{k}"
        shutil.copytree(bundle, models)
        _env(monkeypatch, tmp_path, models)
        rc = main(["--env-file", "", "rl", "train", "--quick", "--seeds", "2", "--timesteps", "512", "--no-progress"])
        out = capsys.readouterr().out
        assert rc == 0, out
        runs.append((models, out))
    (m0, out0), (m1, out1) = runs
    r0, r1 = RESULT.search(out0), RESULT.search(out1)
    assert r0 and r1 and r0.group(0) == r1.group(0)
    assert r0.group(1) == "FAIL" and r0.group(3) == "2"  # 2 seeds < 5: the gate cannot pass
    reg0 = json.loads((m0 / "rl" / "registry.json").read_text())
    reg1 = json.loads((m1 / "rl" / "registry.json").read_text())
    e0, e1 = reg0["runs"]["rl-001"], reg1["runs"]["rl-001"]
    assert [s["sha256"] for s in e0["seeds"]] == [s["sha256"] for s in e1["seeds"]]
    assert e0["verdict"]["per_seed"] == e1["verdict"]["per_seed"]
    # FAIL: registered, disabled, failure report written
    assert e0["enabled"] is False and e0["verdict"]["passed"] is False
    report = (m0 / "rl_failure_report.md").read_text()
    assert "2 seeds < 5 required" in report and "## What was tried" in report and "PPO" in report
    for text in ("Reward curves", "chosen actions", "median OOS improvement", "supervised"):
        assert text in out0
    # evaluate re-runs the same evaluation from the registry: the same RESULT line
    _env(monkeypatch, tmp_path, m0)
    assert main(["--env-file", "", "rl", "evaluate"]) == 0
    r2 = RESULT.search(capsys.readouterr().out)
    assert r2 and r2.group(0) == r0.group(0)


def test_rl_without_a_supervised_bundle_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, tmp_path, tmp_path / "empty")
    assert main(["--env-file", "", "rl", "train", "--quick"]) == 2
    assert "no supervised bundle" in capsys.readouterr().err
    assert main(["--env-file", "", "rl", "evaluate"]) == 2
    assert "rl train" in capsys.readouterr().err
