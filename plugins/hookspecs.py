"""The hooks a trading-ai plugin may implement. Each hook is documented with when it is called and
what its result must honour; results from several plugins are collected into a list.

A hook implementation may take any subset of the arguments below (pluggy passes only the ones it
names), so adding an argument to a spec never breaks an existing plugin. The host
(`plugins.manager.PluginHost`) calls each plugin's implementation on its own: one plugin that raises
is disabled for the run and the others still answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from ports.predictor import Predictor
from ports.sentiment import SentimentSource, SentimentStore

PROJECT = "trading_ai"
ENTRY_POINT_GROUP = "trading_ai.plugins"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def trading_ai_sentiment_sources(
    settings: Mapping[str, Any], store: SentimentStore | None, replay: bool
) -> list[SentimentSource]:
    """Return sentiment sources (Reddit, CryptoPanic, ...), called once at boot.

    `settings` is the effective configuration as a plain mapping (sections as dicts, secrets
    included: never log it). `store` keeps the scored posts so a replay or a backtest sees what live
    saw; `replay` is true when the runtime replays history (a source must then read only the store,
    never the network). Each source's `score(pair, at_ms)` is called once per pair per cycle; it
    returns a float in [-1, 1] or None (no data, outage, timeout), and the ensemble renormalises over
    the members present. The score's ensemble weight is the `sentiment` entry of the weights.
    """
    raise NotImplementedError


@hookspec
def trading_ai_predictors(settings: Mapping[str, Any]) -> list[Predictor]:
    """Return extra ensemble members (an RL agent, ...), called once at boot.

    A predictor joins the ensemble only under a weight named after `Predictor.name` in the ensemble
    weights (ENSEMBLE_WEIGHTS, or the plan's weights by the enabled plugins), and only after it
    passed the same promotion gates as the supervised models: it must expose `gates_passed` (True
    only when its registry record says the gates passed); anything else is left out and logged.
    """
    raise NotImplementedError


@hookspec
def trading_ai_augment_training_set(name: str, features: Any, labels: Any, seed: int) -> tuple[Any, Any] | None:
    """Return extra (features, labels) rows for training only (GAN samples), or None.

    Called by training with one fold's TRAINING split only (`name` is the model being trained).
    Synthetic rows never enter validation or test splits, and are counted separately in the run's
    experiment record so reported metrics stay on real candles.
    """
    raise NotImplementedError
