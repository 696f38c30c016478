"""SentimentSource: a market sentiment score per pair (V2 plugin)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SentimentSource(Protocol):
    """Contract: `score(pair, at_ms)` returns a float in [-1, 1] (bearish..bullish) using only
    information available at `at_ms`, or None when it has nothing for that pair; it never raises
    for an unknown pair. `name` identifies the source."""

    @property
    def name(self) -> str: ...

    def score(self, pair: str, at_ms: int) -> float | None: ...
