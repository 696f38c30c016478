"""The rl plugin through the plugin host: found by its entry point, no agent -> no predictor, a failed
agent is returned disabled and left out, a passed one joins, and an agent that raises is isolated."""

from __future__ import annotations

import importlib.metadata as md
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from composition.config import DEFAULT_SHARED_DATA
from domain.confidence import WITH_RL
from domain.features import FeatureParams, compute_features
from domain.market import Timeframe
from domain.normalisation import Standardiser
from domain.signals import Prediction
from plugins import hookimpl
from plugins.manager import PluginHost
from plugins.rl.agent import build_policy
from plugins.rl.env import POSITION_FEATURES
from plugins.rl.store import AgentStore

ROOT = Path(__file__).resolve().parents[4]
WEIGHTS = WITH_RL.as_dict()
WINDOW = 6


def _entry_point() -> md.EntryPoint:
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["trading_ai.plugins"]
    assert eps["rl"] == "plugins.rl"
    return md.EntryPoint(name="rl", value=eps["rl"], group="trading_ai.plugins")


def _settings(models: Path) -> dict[str, Any]:
    return {"training": {"models_dir": str(models)}}


def test_the_declared_entry_point_is_discovered_with_its_hook() -> None:
    host = PluginHost.discover(entry_points=[_entry_point()])
    [row] = host.infos()
    assert (row.name, row.status, row.version, row.hooks) == ("rl", "enabled", "0.1.0", ("trading_ai_predictors",))


def test_no_trained_agent_gives_no_predictor(tmp_path: Path) -> None:
    host = PluginHost.discover(entry_points=[_entry_point()])
    assert host.predictors(_settings(tmp_path), weights=WEIGHTS) == []
    assert host.predictors({}, weights=WEIGHTS) == [] and not host.failed


def _agent(models: Path, passed: bool | None) -> list[str]:
    """A registered agent with a seeded, untrained policy over real feature columns (mechanics only)."""
    if not (DEFAULT_SHARED_DATA / "candles" / "binance").is_dir():
        pytest.skip("real candles not available")
    from adapters.market_data.bundled import BundledCandles

    c = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance").candles("BTC/USDT", Timeframe.M5).tail(1300)
    fm = compute_features(c, FeatureParams())
    names = list(fm.names[:5])
    torch.manual_seed(0)
    obs_dim = WINDOW * len(names) + len(POSITION_FEATURES)
    pol = build_policy(obs_dim, (8,))
    store = AgentStore(models)
    f = store.write_policy(pol.state_dict(), {"seed": 1, "obs_dim": obs_dim, "net_arch": [8]})
    std = Standardiser.fit(fm.values[:, :5], np.arange(len(fm)) < 1200, names)
    run = store.add_run(
        {
            "seeds": [{**f, "seed": 1}],
            "selected_seed_index": 0,
            "window": WINDOW,
            "feature_names": names,
            "feature_params": FeatureParams().to_dict(),
            "timeframe": "5m",
            "standardisers": {"BTC/USDT": std.to_dict()},
        }
    )
    if passed is not None:
        store.record_verdict(run, {"passed": passed}, None)
    return [run]


def test_a_failed_agent_is_registered_but_left_out(tmp_path: Path) -> None:
    _agent(tmp_path, passed=False)
    host = PluginHost.discover(entry_points=[_entry_point()])
    raw = [p for batch in host.pm.hook.trading_ai_predictors(settings=_settings(tmp_path)) for p in batch]
    assert [(p.name, p.gates_passed) for p in raw] == [("rl", False)]  # registered, disabled
    assert host.predictors(_settings(tmp_path), weights=WEIGHTS) == [] and not host.failed


def test_a_passed_agent_joins_and_predicts(tmp_path: Path) -> None:
    _agent(tmp_path, passed=True)
    host = PluginHost.discover(entry_points=[_entry_point()])
    [pred] = host.predictors(_settings(tmp_path), weights=WEIGHTS)
    from adapters.market_data.bundled import BundledCandles

    c = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance").candles("BTC/USDT", Timeframe.M5).tail(1300)
    fm = compute_features(c, FeatureParams())
    [p] = pred.predict({"BTC/USDT": fm, "ETH/USDT": fm})  # no standardiser for ETH: left out
    assert isinstance(p, Prediction) and p.model_name == "rl" and 0.0 <= p.prob_up <= 1.0
    assert pred.predict({"BTC/USDT": fm}) == [p]  # deterministic


class _GoodPredictors:
    @hookimpl
    def trading_ai_predictors(self, settings: Any) -> list[Any]:
        class _P:
            name, version, gates_passed = "lstm", "v1", True

            def predict(self, inputs: Any) -> list[Prediction]:
                return []

        return [_P()]


def test_an_agent_that_raises_is_isolated_and_the_others_answer(tmp_path: Path) -> None:
    _agent(tmp_path, passed=True)
    for f in (tmp_path / "rl").glob("rl_policy_*.pt"):
        f.write_bytes(b"not a torch file")  # a corrupt policy: loading raises inside the hook
    alerts: list[tuple[str, str]] = []
    host = PluginHost.discover(
        entry_points=[_entry_point()], extra={"other": _GoodPredictors()}, alert=lambda k, t: alerts.append((k, t))
    )
    preds = host.predictors(_settings(tmp_path), weights={**WEIGHTS, "lstm": 0.3})
    assert [p.name for p in preds] == ["lstm"]
    assert "rl" in host.failed and "trading_ai_predictors" in host.failed["rl"] and len(alerts) == 1
    assert next(i for i in host.infos() if i.name == "rl").status == "failed"


def test_without_the_rl_extra_the_plugin_is_listed_as_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "stable_baselines3" else real(name, *a)
    )
    saved = sys.modules.pop("plugins.rl")
    try:
        host = PluginHost.discover(entry_points=[_entry_point()])
    finally:
        sys.modules["plugins.rl"] = saved
    [row] = host.infos()
    assert row.status == "not installed" and "pip install -e .[rl]" in row.detail and not host.enabled_names()
