"""The gates grade the signals the backtest emits, on GENERATED candles (mechanics only, never market
data) so the comparison always runs: a quick bundle is trained and registered, then loaded back from
the registry and backtested on its recorded test blocks the way `trading-ai backtest --block test`
does; the gates' own pipeline run must give the very same signals and blocks, pair by pair.
(tests/integration/training/test_cli_train_models.py repeats it through the CLI on real candles.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import training.pipeline as tp
from adapters.mocks.market_data import synthetic_candles
from composition.config import load_config
from composition.settings import kernel_settings
from domain.backtest.engine import EngineConfig, PairData
from domain.execution_costs import FixedCostModel
from domain.market import Timeframe
from domain.trading import SymbolSpec
from services.backtest import run_batch
from training.batch_predict import block_probs
from training.predictor import RuntimeFeatures, load_predictors
from training.service import train_and_record


def test_gate_signals_equal_the_backtest_of_the_registered_bundle_on_its_test_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tf = Timeframe.M5
    candles = {
        p: synthetic_candles(p, tf, 3_000, 1_735_689_600_000, seed=i + 1, start_price=100.0 * (i + 1))
        for i, p in enumerate(("BTC/USDT", "ETH/USDT"))
    }
    # no conservative bias and a 0.51 LOW tier: an untrained-looking model still emits signals
    config = load_config(
        None, env_file=None, environ={"TRADING_AI_CONFIDENCE_CONSERVATIVE_BIAS": "0", "CONFIDENCE_THRESHOLD": "0.51"}
    )
    kernel = kernel_settings(config)
    settings = attrs.evolve(tp.quick_settings(seed=7, device="cpu"), max_bars=0).on_kernel(kernel)
    costs = FixedCostModel(spread_bps=6.0, slippage_bps=2.0)
    seen: dict[tuple[str, ...], Any] = {}
    real = tp._emitted

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        seen[tuple(args[2][next(iter(args[2]))])] = out  # keyed by the members it ran
        return out

    monkeypatch.setattr(tp, "_emitted", spy)
    out = train_and_record(candles, settings, tmp_path / "models", tmp_path / "runs", cost_model=costs)
    gate = seen[("lstm", "transformer")]
    preds = load_predictors(tmp_path / "models", tag=out.tag)
    min_bars = RuntimeFeatures(preds[0].feature_params, tf, max(p.seq_len for p in preds)).min_bars
    pairs = []
    for pair, c in candles.items():
        first, last = out.report["final"]["pairs"][pair]["split"]["test"]["range"]
        end = last + tf.ms
        probs = block_probs(preds, c.between(None, end), first, min_bars)
        spec = SymbolSpec(pair, pair.replace("/USDT", "USD"), margin_rate=settings.margin_rate)
        pairs.append(PairData(pair, c.between(first, end), probs, spec))
    res = run_batch(pairs, EngineConfig.from_settings(kernel, ("lstm", "transformer"), min_bars), costs, kernel.seed)
    total = 0
    for r, pd in enumerate(pairs):
        mine = np.asarray(res.signals["pair"]) == r
        for col in ("bar", "sign", "tier", "confidence", "volume", "entry", "sl", "tp"):
            assert np.array_equal(np.asarray(res.signals[col])[mine], gate[pd.pair].signals[col]), (pd.pair, col)
        n = int(mine.sum())
        assert out.report["final"]["pairs"][pd.pair]["models"]["ensemble"]["signals_graded"] == n
        blk = np.asarray(res.blocks["pair"]) == r
        for col in ("at_ms", "bar", "reason", "tier"):
            assert np.array_equal(np.asarray(res.blocks[col])[blk], gate[pd.pair].blocks[col]), (pd.pair, col)
        total += n
    assert total > 0  # the comparison compared something
