"""The hooks a trading-ai plugin may implement. Each hook is documented with when it is called and
what its result must honour; results from several plugins are collected into a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from ports.predictor import Predictor
from ports.sentiment import SentimentSource

PROJECT = "trading_ai"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def trading_ai_sentiment_sources(settings: Mapping[str, Any]) -> list[SentimentSource]:
    """Return sentiment sources (V2: Reddit, CryptoPanic, ...), called once at boot.

    A source's score is an ensemble input with the configured sentiment weight; a source that
    cannot answer returns None and the ensemble renormalises over the models present.
    """
    raise NotImplementedError


@hookspec
def trading_ai_predictors(settings: Mapping[str, Any]) -> list[Predictor]:
    """Return extra ensemble members (V2: an RL agent), called once at boot.

    A predictor joins the ensemble only under a weight named after `Predictor.name` in
    ENSEMBLE_WEIGHTS, and only after it passed the same promotion gates as the supervised models.
    """
    raise NotImplementedError


@hookspec
def trading_ai_augment_training_set(name: str, features: Any, labels: Any, seed: int) -> tuple[Any, Any] | None:
    """Return extra (features, labels) rows for training only (V2: GAN samples), or None.

    Synthetic rows never enter validation or test splits, and are counted separately in the run's
    experiment record so reported metrics stay on real candles.
    """
    raise NotImplementedError
