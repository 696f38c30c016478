"""Predictor: a trained model that turns per-pair inputs into up-probabilities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from domain.signals import Prediction


@runtime_checkable
class Predictor(Protocol):
    """One model (LSTM, Transformer, RL, sentiment...).

    Contract:
    - `name` is the ensemble key ("lstm", "transformer", "rl", "sentiment"); `version` identifies
      the trained artefact.
    - `predict(inputs)` takes, per pair, that pair's features (the FeatureFrame from
      `domain.features.compute_features`, or Candles for models that take raw bars) and returns at
      most one Prediction per pair, in the order of `inputs`, with `model_name == name` and
      `model_version == version`. A pair it cannot score (too little history) is left out, not
      guessed. It must not mutate its inputs and is deterministic for the same inputs.
    """

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]: ...
