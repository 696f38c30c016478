"""Sentiment: a market sentiment score per pair (the sentiment plugin), and the store of scored posts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from domain.sentiment import ScoredPost, SentimentReading


@runtime_checkable
class SentimentSource(Protocol):
    """Contract: `reading(pair, at_ms)` is the pair's rolling score at `at_ms` (a float in [-1, 1],
    bearish..bullish, and the number of posts it is over) using only posts created before `at_ms`,
    or None when it has nothing for that pair or cannot answer (outage, timeout); it never raises for
    an unknown pair. `score(pair, at_ms)` is the reading's score. `name` identifies the source."""

    @property
    def name(self) -> str: ...

    def reading(self, pair: str, at_ms: int) -> SentimentReading | None: ...

    def score(self, pair: str, at_ms: int) -> float | None: ...


@runtime_checkable
class SentimentStore(Protocol):
    """Scored posts and the readings a run used, kept so a replay or a backtest sees what live saw.

    Contract: `add_posts` stores posts not seen before (key: source, post_id, pair) and returns how
    many were new; `posts(pair, start_ms, end_ms)` returns that pair's posts created in
    [start_ms, end_ms) ordered by creation time; `record_reading` keeps one reading per (pair, at_ms,
    source) (a repeat replaces it) and `readings(pair)` returns them as (source, reading) ordered by
    at_ms; `history()` is (first created_at_ms, last created_at_ms, posts)
    over every pair, or None when empty."""

    def add_posts(self, posts: Sequence[ScoredPost]) -> int: ...

    def posts(self, pair: str, start_ms: int, end_ms: int) -> list[ScoredPost]: ...

    def record_reading(self, source: str, reading: SentimentReading) -> None: ...

    def readings(self, pair: str) -> list[tuple[str, SentimentReading]]: ...

    def history(self, pair: str | None = None) -> tuple[int, int, int] | None: ...
