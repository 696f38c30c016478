"""Predictors for tests and the demo: a fixed table of probabilities, or a simple momentum rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.signals import Prediction


class FixedPredictor:
    """Returns the configured prob_up per pair (pairs not in the table are left out)."""

    def __init__(self, name: str, version: str, probs: Mapping[str, float]) -> None:
        self._name, self._version = name, version
        self.probs = dict(probs)

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        return [Prediction(p, self.probs[p], self._name, self._version) for p in inputs if p in self.probs]
