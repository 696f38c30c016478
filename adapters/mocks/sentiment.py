"""A sentiment source with a fixed score table."""

from __future__ import annotations

from collections.abc import Mapping


class FixedSentiment:
    def __init__(self, scores: Mapping[str, float], name: str = "fixed") -> None:
        for k, v in scores.items():
            if not -1.0 <= v <= 1.0:
                raise ValueError(f"sentiment for {k} must be in [-1, 1]")
        self._scores = dict(scores)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def score(self, pair: str, at_ms: int) -> float | None:
        return self._scores.get(pair)
