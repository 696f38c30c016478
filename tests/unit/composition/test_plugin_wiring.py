"""wire_plugins: the scan cycle gets the plugins' sources, bound, predictors and the weights by the
members that take part (an enabled plugin serving nothing leaves 50/50)."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from adapters.mocks.sentiment import FixedSentiment
from composition.config import load_config
from composition.runtime.plugins import wire_plugins
from domain.confidence import SENTIMENT_ONLY, WITH_RL, WITHOUT_RL, ConfidenceParams
from domain.signals import Prediction
from plugins import hookimpl
from plugins.manager import PluginHost
from tests.unit.services.conftest import System


class _Sent:
    def __init__(self, serve: bool) -> None:
        self.serve = serve
        self.store: Any = None

    @hookimpl
    def trading_ai_sentiment_sources(self, settings: Any, store: Any, replay: bool) -> list[Any]:
        self.store = store
        assert settings["sentiment"]["block_bound"] == 0.4 and replay is True
        return [FixedSentiment({"BTC/USDT": 0.1})] if self.serve else []


class _Rl:
    name, version, gates_passed = "rl", "a1", True

    def predict(self, inputs: Any) -> list[Prediction]:
        return [Prediction(p, 0.7, "rl", "a1") for p in inputs]


class _RlPlugin:
    @hookimpl
    def trading_ai_predictors(self) -> list[Any]:
        return [_Rl()]


def _wire(plugins: dict[str, object]) -> System:
    system = System()
    system.cycle.confidence = ConfidenceParams(weights=WITHOUT_RL)
    config = load_config(env_file=None, environ={"SENTIMENT_BLOCK_BOUND": "0.4"})
    host = PluginHost.discover(entry_points=[], extra=plugins)
    engine = sa.create_engine("sqlite://")
    wire_plugins(
        config, system.cycle, engine=engine, clock=system.clock, log=logging.getLogger("t"), replay=True, host=host
    )
    return system


def test_an_enabled_plugin_that_serves_nothing_keeps_50_50() -> None:
    s = _wire({"sentiment": _Sent(serve=False)})
    assert s.cycle.confidence.weights == WITHOUT_RL and s.cycle.sentiment == [] and s.cycle.sentiment_bound == 0.0


def test_sentiment_serving_gets_30_35_35_and_the_bound_and_a_store() -> None:
    plugin = _Sent(serve=True)
    s = _wire({"sentiment": plugin})
    assert s.cycle.confidence.weights == SENTIMENT_ONLY
    assert [x.name for x in s.cycle.sentiment] == ["fixed"] and s.cycle.sentiment_bound == 0.4
    assert plugin.store is not None and plugin.store.history() is None  # the SQL store, empty


def test_rl_and_sentiment_get_the_plans_four_way_weights_and_the_agent_joins() -> None:
    s = _wire({"sentiment": _Sent(serve=True), "rl": _RlPlugin()})
    assert s.cycle.confidence.weights == WITH_RL
    assert [p.name for p in s.cycle.predictors] == ["lstm", "transformer", "rl"]
    s.scan()
    rep = s.scan()
    assert rep.signals and "rl:a1" in rep.signals[0].model_versions
