"""The backtest with trained models: a bundle quick-trained on a slice of the REAL candles
(../shared/data), its batched per-bar probabilities against the live predictor on each bar's cycle
window, and `trading-ai backtest` / `challenge simulate` choosing and naming the bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import numpy as np
import pytest
import torch

from adapters.market_data.bundled import BundledCandles
from adapters.mocks.storage import InMemoryDeployments
from composition.cli import main
from composition.config import DEFAULT_SHARED_DATA, load_config
from domain.market import Candles, Timeframe
from training.batch_predict import batch_predict
from training.pipeline import quick_settings
from training.predictor import load_runtime_predictors
from training.registry import FileModelRegistry
from training.service import train_and_record

CANDLES = DEFAULT_SHARED_DATA / "candles" / "binance"
PAIRS = ("BTC/USDT", "ETH/USDT")
pytestmark = pytest.mark.skipif(not CANDLES.is_dir(), reason="real candles not available")

# Four days inside the last 5000 bars the quick bundle trains on (its test block is their last 15%).
CONFIG = """seed = 7
[data]
symbols = ["BTC/USDT", "ETH/USDT"]
timeframe = "5m"
[backtest]
start = "2025-10-26"
end = "2025-10-30"
horizon_bars = 3
cost_model = "fixed"
spread_bps = 6.0
slippage_bps = 2.0
"""


Bundle = tuple[Path, str, dict[str, Candles]]  # models dir, the promoted tag, the bars it was trained on


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """models dir with one quick-trained bundle, promoted with --force (real figures fail the gates)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bt-models")
    src = BundledCandles(CANDLES)
    candles = {p: src.candles(p, Timeframe.M5) for p in PAIRS}
    s = quick_settings(seed=3, device="cpu")
    s = attrs.evolve(
        s, max_bars=5000, lstm_loop=attrs.evolve(s.lstm_loop, epochs=1), tf_loop=attrs.evolve(s.tf_loop, epochs=1)
    )
    out = train_and_record(candles, s, root / "models", root / "runs")
    FileModelRegistry(root / "models").promote(
        out.tag, "backtest test", InMemoryDeployments(), force=True, now_ms=1_000
    )
    return root / "models", out.tag, candles


def test_batched_probabilities_equal_the_live_cycle_on_real_bars(bundle: Bundle) -> None:
    models, tag, candles = bundle
    cfg = load_config(env_file=None, environ={"MODELS_DIR": str(models)})
    predictors, features, _passed, _desc = load_runtime_predictors(cfg)
    tail = {p: c.tail(6000) for p, c in candles.items()}
    batched = batch_predict(predictors, tail)
    rng = np.random.default_rng(11)
    compared = 0
    for pair, c in tail.items():
        p0 = batched[pair][predictors[0].name]
        first = int(np.flatnonzero(~np.isnan(p0))[0])
        assert features.min_bars - 100 < first < features.min_bars  # warm-up: no guessing before it
        bars = [first - 1, first, *rng.integers(features.min_bars, len(c), 6).tolist(), len(c) - 1]
        for t in bars:
            # what the live cycle computes at the close of bar t: features of its min_bars window
            window = c.tail(len(c) - max(0, t + 1 - features.min_bars)).slice_until(int(c.ts[t]))
            assert int(window.ts[-1]) == int(c.ts[t])
            fm = features(window)
            for pred in predictors:
                live = pred.predict({pair: fm})
                got = batched[pair][pred.name][t]
                if not live:
                    assert np.isnan(got), (pair, t, pred.name)
                    continue
                assert live[0].model_version == tag
                assert abs(live[0].prob_up - got) <= 1e-6, (pair, t, pred.name, live[0].prob_up, got)
                compared += 1
    # not a constant: the comparison means something. Per model on some pair, not on every pair: a
    # one-epoch model may give one value for every bar of a pair (on this session's machine the
    # transformer does on BTC, at the commit an earlier CI run passed on too)
    for pred in predictors:
        assert max(float(np.nanstd(batched[pair][pred.name])) for pair in tail) > 0, pred.name
    assert compared >= 2 * 2 * 8


def test_period_bars_get_the_live_probability_of_their_own_close(
    bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's PairData: probabilities aligned with the period's bars, warm-up taken from before it."""
    from composition.model_choice import choose_model, engine_config, load_pairs
    from composition.settings import kernel_settings

    models, tag, candles = bundle
    config = load_config(config_path=_env(monkeypatch, tmp_path, models), env_file=None)
    model = choose_model(config, tag)
    # the live cycle's window
    assert engine_config(kernel_settings(config), model).lookback_bars == max(300, model.min_bars)
    features = load_runtime_predictors(load_config(env_file=None, environ={"MODELS_DIR": str(models)}))[1]
    for pd_ in load_pairs(config, Timeframe.M5, model):
        full = candles[pd_.pair]
        for i in (0, 1, len(pd_.bars) // 2, len(pd_.bars) - 1):
            t = int(np.searchsorted(full.ts, pd_.bars.ts[i]))
            window = full.tail(len(full) - (t + 1 - features.min_bars)).slice_until(int(full.ts[t]))
            for pred in model.predictors:
                live = pred.predict({pd_.pair: features(window)})
                assert abs(live[0].prob_up - pd_.probs[pred.name][i]) <= 1e-6, (pd_.pair, i, pred.name)


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models: Path) -> Path:
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("MODELS_DIR", str(models))
    monkeypatch.setenv("CANDLES_DIR", str(CANDLES))
    monkeypatch.setenv("TRADING_AI_BACKTEST_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("LOG_FILE", "")
    return cfg


def test_backtest_with_a_tag_names_the_bundle_and_its_verdict(
    bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    models, tag, _candles = bundle
    cfg = _env(monkeypatch, tmp_path, models)
    rc = main(["--config", str(cfg), "--env-file", "", "backtest", "--model", tag, "--run-name", "m"])
    out = capsys.readouterr().out
    assert rc == 0, out
    summary = json.loads((tmp_path / "reports" / "m" / "summary.json").read_text())
    html = (tmp_path / "reports" / "m" / "report.html").read_text()
    m = summary["models"]
    assert m["kind"] == "tag" and m["tag"] == tag and m["names"] == ["lstm", "transformer"]
    assert m["weights"] == {"lstm": 0.5, "transformer": 0.5}
    assert tag in summary["model"] and tag in html and f"model: lstm+transformer {tag}" in out
    passed = FileModelRegistry(models).entry(tag)["gates_passed"]
    assert m["gates_passed"] is passed
    if not passed:
        assert "FAILED its gates" in out and "FAILED its promotion gates" in html
    # the period's first bar already has its warm-up history: every bar is scored
    assert summary["blocks_by_reason"].get("no_prediction", 0) == 0
    assert summary["model_quality"]["bars_scored"] == summary["bars"] - 2 * 3
    assert sum(m["in_sample_bars"].values()) > 0 and "in-sample" in out


def test_defaults_promoted_else_baseline(
    bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    models, tag, _candles = bundle
    cfg = _env(monkeypatch, tmp_path, models)
    monkeypatch.setenv("TRADING_AI_BACKTEST_END", "2025-10-28")
    rc = main(["--config", str(cfg), "--env-file", "", "challenge", "simulate", "--runs", "2"])
    out = capsys.readouterr().out
    assert rc == (1 if "verdict: FAIL" in out else 0) and "verdict: " in out  # a failed gate is exit 1
    verdict = (
        "passed its gates"
        if FileModelRegistry(models).entry(tag)["gates_passed"]
        else "FAILED its gates, promoted with --force"
    )
    assert f"model: lstm+transformer {tag} ({verdict}) [the promoted bundle in {models}]" in out
    assert "pass rate" in out

    empty = tmp_path / "no-models"
    shutil.copytree(models, empty)
    shutil.rmtree(empty / "promoted")
    monkeypatch.setenv("MODELS_DIR", str(empty))
    assert main(["--config", str(cfg), "--env-file", "", "backtest", "--run-name", "b"]) == 0
    out = capsys.readouterr().out
    assert "model: momentum (baseline, not a trained model) [no promoted model" in out
    summary = json.loads((tmp_path / "reports" / "b" / "summary.json").read_text())
    assert summary["models"]["kind"] == "baseline" and summary["models"]["names"] == ["momentum"]
    assert main(["--config", str(cfg), "--env-file", "", "backtest", "--model", "promoted"]) == 2
    assert "no promoted model" in capsys.readouterr().err
    assert main(["--config", str(cfg), "--env-file", "", "backtest", "--model", "v9.9.9"]) == 2
    assert "unknown model tag" in capsys.readouterr().err
